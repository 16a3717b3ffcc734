//! Choosing the device: WebGPU when the browser gives an adapter, the CPU otherwise, and why.

use burn::prelude::Device;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::settings::DeviceChoice;

/// Asks the browser for a WebGPU adapter (not just `navigator.gpu`, which exists even where no
/// adapter is given). Returns why not, when there is none.
async fn webgpu_adapter() -> Result<(), String> {
    // The worker's `navigator` (WebGPU is offered to dedicated workers as to the page).
    let nav = super::util::global_get("navigator");
    let gpu = js_sys::Reflect::get(&nav, &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    let adapter = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(
            "the browser offers WebGPU but gave no adapter (GPU blocklisted or disabled)".into(),
        );
    }
    Ok(())
}

/// The device for `choice`: (device, "webgpu" | "cpu", why).
pub async fn pick_device(choice: DeviceChoice) -> (Device, &'static str, String) {
    if choice == DeviceChoice::Cpu {
        return (Device::flex(), "cpu", "CPU chosen by ?device=cpu".into());
    }
    #[cfg(feature = "webgpu")]
    let why = match webgpu_adapter().await {
        Ok(()) => match Device::wgpu_options().init_async().await {
            Ok(device) => {
                return (
                    device,
                    "webgpu",
                    "training on the GPU through WebGPU".into(),
                )
            }
            Err(e) => format!("WebGPU failed to start ({e})"),
        },
        Err(why) => why,
    };
    // The threaded module (no WebGPU in it): the page loads it only where WebGPU gave no
    // adapter or the CPU was chosen, so this says why (the page's probe found the same).
    #[cfg(not(feature = "webgpu"))]
    let why = match webgpu_adapter().await {
        Ok(()) => "this is the threaded CPU module; the page loads the WebGPU one when it finds an adapter".to_string(),
        Err(why) => why,
    };
    let note = if choice == DeviceChoice::WebGpu {
        format!("WebGPU was requested but {why}; training on the CPU instead")
    } else {
        format!("No WebGPU: {why}. Training on the CPU (slower, same results)")
    };
    (Device::flex(), "cpu", note)
}
