//! The lab's build tool: `cargo xtask build | serve [--port N] | test | bench`.
//!
//! Everything a fresh Debian machine with Rust needs is installed here, saying so as it goes:
//! the wasm32 target (rustup), Debian's `chromium` (apt-get) and the npm test driver
//! (playwright-core, from package-lock.json). Nothing downloads a binary from elsewhere:
//! wasm-bindgen runs as a library pinned to the version in Cargo.lock.

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
        Some("serve") => serve(port_arg(&args)),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(),
        _ => {
            eprintln!("usage: cargo xtask build | serve [--port N] | test [--native-only|--browser-only] | bench");
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

/// Builds the release wasm, generates the bindings and writes the complete static site to dist/.
fn build() -> Result<PathBuf> {
    let root = root();
    ensure_wasm_target()?;
    let started = Instant::now();
    println!("xtask: building the lab for {WASM_TARGET} (release)");
    run(Command::new(env!("CARGO")).current_dir(&root).args([
        "build",
        "--lib",
        "--release",
        "--package",
        "difflab",
        "--target",
        WASM_TARGET,
    ]))?;
    let wasm = root
        .join("target")
        .join(WASM_TARGET)
        .join("release")
        .join("difflab.wasm");
    let dist = root.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cleaning {}: {e}", dist.display()))?;
    }
    let pkg = dist.join("pkg");
    fs::create_dir_all(&pkg).map_err(|e| e.to_string())?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .omit_default_module_path(false)
        .typescript(false)
        .generate(&pkg)
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    copy_file(&root.join("index.html"), &dist.join("index.html"))?;
    copy_dir(&root.join("www"), &dist.join("www"))?;
    let size = fs::metadata(pkg.join("difflab_bg.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "xtask: wrote {} ({:.1} MB wasm) in {:.0} s",
        dist.display(),
        size as f64 / 1e6,
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

/// Serves `dir` under `prefix` (e.g. "/" or "/sub/path/") until the process ends.
fn serve_dir(server: tiny_http::Server, dir: PathBuf, prefix: String) {
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
                request.respond(tiny_http::Response::from_data(bytes).with_header(header))
            }
            None => {
                request.respond(tiny_http::Response::from_string("not found").with_status_code(404))
            }
        };
    }
}

fn start_server(dir: PathBuf, addr: &str, prefix: &str) -> Result<SocketAddr> {
    let server =
        tiny_http::Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or("server has no IP address")?;
    let prefix = prefix.to_string();
    std::thread::spawn(move || serve_dir(server, dir, prefix));
    Ok(bound)
}

fn serve(port: u16) -> Result {
    let dist = build()?;
    let addr = start_server(dist, &format!("127.0.0.1:{port}"), "/")?;
    println!("xtask: the lab is at http://{addr}/  (Ctrl-C stops the server)");
    loop {
        std::thread::park();
    }
}

fn ensure_chromium() -> Result<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        println!(
            "xtask: installing Debian's chromium for the browser tests (apt-get install chromium)"
        );
        let sudo = output(Command::new("id").arg("-u"))
            .map(|u| u.trim() != "0")
            .unwrap_or(false);
        let apt = |args: &[&str]| {
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
        };
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

fn ensure_node_modules() -> Result<PathBuf> {
    let dir = root().join("tests").join("browser");
    if !dir.join("node_modules").join("playwright-core").exists() {
        println!("xtask: installing the browser-test driver (npm ci in tests/browser: playwright-core, no browser download)");
        run(Command::new("npm")
            .current_dir(&dir)
            .args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(dir)
}

/// Starts the built site under a sub-path, as a project page would serve it.
fn serve_for_tests() -> Result<String> {
    let dist = root().join("dist");
    let addr = start_server(dist, "127.0.0.1:0", "/lab/sub/")?;
    Ok(format!("http://{addr}/lab/sub/"))
}

fn test(args: &[String]) -> Result {
    let native = !args.iter().any(|a| a == "--browser-only");
    let browser = !args.iter().any(|a| a == "--native-only");
    let root = root();
    if native {
        println!("xtask: native tests (cargo test)");
        run(Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["test", "--package", "difflab"]))?;
    }
    if browser {
        build()?;
        let chromium = ensure_chromium()?;
        let dir = ensure_node_modules()?;
        let url = serve_for_tests()?;
        let artifacts = root.join("artifacts");
        fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
        println!(
            "xtask: browser tests in headless Chromium against {url} (screenshots in {})",
            artifacts.display()
        );
        run(Command::new("node")
            .current_dir(&dir)
            .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
            .args(["lab.test.mjs", "ising.test.mjs"])
            .env("LAB_URL", &url)
            .env("CHROMIUM", &chromium)
            .env("ARTIFACTS", &artifacts))?;
    }
    Ok(())
}

fn gzip_size(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("in-memory gzip");
    enc.finish().expect("in-memory gzip").len()
}

fn bench() -> Result {
    let root = root();
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
    let mut wasm = Vec::new();
    fs::File::open(dist.join("pkg").join("difflab_bg.wasm"))
        .and_then(|mut f| f.read_to_end(&mut wasm))
        .map_err(|e| e.to_string())?;
    println!(
        "bench: wasm size {:.2} MB raw, {:.2} MB gzipped",
        wasm.len() as f64 / 1e6,
        gzip_size(&wasm) as f64 / 1e6
    );
    let chromium = ensure_chromium()?;
    let dir = ensure_node_modules()?;
    let url = serve_for_tests()?;
    run(Command::new("node")
        .current_dir(&dir)
        .arg("bench.mjs")
        .env("LAB_URL", &url)
        .env("CHROMIUM", &chromium))
}
