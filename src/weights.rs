//! Trained weights as a file: a network with what is needed to rebuild it.
//!
//! Layout: the 8 bytes `DIFFLAB1`, a little-endian `u32` header length, a JSON header (model,
//! schedule, network shape, steps trained, …), then burn's burnpack record of the network.
//! Loading checks every part and never panics on a bad file. The 1D toy's, the Ising model's and
//! MNIST's networks are stored this way (the header's `model` says which).

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use crate::diffusion::Schedule;
use crate::models::ising::net::IsingNet;
use crate::models::ising::train::IsingConfig;
use crate::models::mnist::train::{MnistConfig, MnistNet};
use crate::models::toy1d::train::ScoreModel;

const MAGIC: &[u8; 8] = b"DIFFLAB1";

/// What the file says about the network it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub model: String,
    pub schedule: Schedule,
    pub width: usize,
    pub depth: usize,
    /// Absent from files written before the choice existed: those used SiLU.
    #[serde(default = "crate::nn::Activation::legacy")]
    pub activation: crate::nn::Activation,
    pub data_var: f64,
    pub steps: u64,
}

/// Serialises a trained score model (its tensors must be readable synchronously, e.g. on the
/// CPU device or natively).
pub fn encode(
    model: &ScoreModel,
    width: usize,
    depth: usize,
    activation: crate::nn::Activation,
    steps: u64,
) -> Result<Vec<u8>, String> {
    let header = Header {
        model: "toy1d".into(),
        schedule: model.schedule,
        width,
        depth,
        activation,
        data_var: model.data_var,
        steps,
    };
    frame(&header, model.net.clone())
}

/// Fills a module's parameters, in visiting order, from consecutive runs of one flat vector of
/// values read back from another device.
struct Fill {
    values: Vec<f32>,
    at: usize,
    device: Device,
}

impl burn::module::ModuleMapper for Fill {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        let device = self.device.clone();
        let (values, at) = (&self.values, &mut self.at);
        param.map(|t| {
            let shape = t.shape();
            let n = shape.num_elements();
            let run = values
                .get(*at..*at + n)
                .expect("the same architecture has the same parameters")
                .to_vec();
            *at += n;
            Tensor::<1>::from_data(TensorData::new(run, [n]), &device).reshape(shape)
        })
    }
}

/// A copy of `net` on the CPU backend, read back with one asynchronous read of all its
/// parameters concatenated (WebGPU allows no synchronous read, burn's record export reads
/// synchronously, and one read per parameter would wait on the GPU once per tensor).
/// `cpu_twin` is a module of the same architecture on `Device::flex()`.
pub async fn to_cpu<M: Module>(net: &M, cpu_twin: M) -> Result<M, String> {
    let params = crate::nn::ema::parameters(net);
    if params.is_empty() {
        return Ok(cpu_twin);
    }
    let values = Tensor::cat(params, 0)
        .into_data_async()
        .await
        .map_err(|e| format!("reading the weights from the device failed: {e:?}"))?
        .iter::<f32>()
        .collect();
    Ok(cpu_twin.map(&mut Fill {
        values,
        at: 0,
        device: Device::flex(),
    }))
}

/// Magic, header length, JSON header, record.
fn frame<H: Serialize, M: Module>(header: &H, net: M) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(header).map_err(|e| e.to_string())?;
    let record = net.into_record().into_bytes().map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(12 + json.len() + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&record);
    Ok(out)
}

/// The JSON header's bytes and the offset of the record.
fn unframe(bytes: &[u8]) -> Result<(&[u8], usize), String> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err("not a Diffusion Lab weights file (the first bytes should be DIFFLAB1)".into());
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let body = bytes
        .get(12..12 + len)
        .ok_or("the weights file is truncated (header)")?;
    Ok((body, 12 + len))
}

/// The record's tensors, each checked to be f32 or f16 (burn panics loading a tensor of another
/// kind, an integer one, into a float parameter: found by fuzzing), and its metadata.
fn record_tensors(
    record: &[u8],
) -> Result<(Vec<burn_pack::Tensor>, Vec<(String, String)>), String> {
    let unreadable =
        |e: burn_pack::Error| format!("the weights file's tensors are unreadable: {e}");
    let reader =
        burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(record.to_vec()))
            .map_err(unreadable)?;
    let metadata = reader
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let tensors = reader.into_tensors().map_err(unreadable)?;
    if let Some(t) = tensors
        .iter()
        .find(|t| !matches!(t.dtype, DType::F32 | DType::F16))
    {
        return Err(format!(
            "the weights file's tensor {} holds {:?} values, not f32 or f16",
            t.name, t.dtype
        ));
    }
    Ok((tensors, metadata))
}

/// A record's tensors (as [`record_tensors`] read them) converted by `convert` to `dtype` (each
/// tensor's little-endian bytes in, the converted bytes out), keeping names, shapes, ids and
/// metadata.
fn recode(
    (tensors, metadata): (Vec<burn_pack::Tensor>, Vec<(String, String)>),
    dtype: DType,
    convert: impl Fn(DType, &[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(tensors.len());
    for t in tensors {
        let (name, from, shape, id, bytes) = t
            .into_parts()
            .map_err(|e| format!("the weights file's tensors are unreadable: {e}"))?;
        let converted = convert(from, &bytes).map_err(|e| format!("tensor {name}: {e}"))?;
        out.push(burn_pack::Tensor::new(
            name,
            dtype,
            shape,
            id,
            burn::tensor::Bytes::from_bytes_vec(converted),
        ));
    }
    let writer = metadata
        .iter()
        .fold(burn_pack::Writer::new(out), |w, (k, v)| {
            w.with_metadata(k, v)
        });
    Ok(writer
        .into_bytes()
        .map_err(|e| format!("writing the record failed: {e}"))?
        .to_vec())
}

/// Every value of a tensor's bytes as f32, from f32 or f16.
fn widen(dtype: DType, bytes: &[u8]) -> Result<Vec<u8>, String> {
    match dtype {
        DType::F32 => Ok(bytes.to_vec()),
        DType::F16 => Ok(bytes
            .chunks_exact(2)
            .flat_map(|b| {
                half::f16::from_le_bytes([b[0], b[1]])
                    .to_f32()
                    .to_le_bytes()
            })
            .collect()),
        other => Err(format!("{other:?} values")),
    }
}

/// The same weights file with its tensors stored in half precision (IEEE f16: 11 significant
/// bits, a relative error of at most 2⁻¹¹ per weight): half the size, for the pretrained
/// networks the site ships. Loading widens them back to f32. A weight beyond f16's range
/// (±65504) is refused rather than turned into infinity.
pub fn to_half(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (_, offset) = unframe(bytes)?;
    let record = recode(record_tensors(&bytes[offset..])?, DType::F16, |dtype, b| {
        let values = widen(dtype, b)?;
        values
            .chunks_exact(4)
            .map(|v| {
                let x = f32::from_le_bytes([v[0], v[1], v[2], v[3]]);
                let h = half::f16::from_f32(x);
                if h.is_finite() || !x.is_finite() {
                    Ok(h.to_le_bytes())
                } else {
                    Err(format!("the weight {x} is beyond half precision's range"))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.concat())
    })?;
    let mut out = bytes[..offset].to_vec();
    out.extend_from_slice(&record);
    Ok(out)
}

/// Loads the record that starts at `offset` of a file into `net` (a freshly built module of
/// the architecture the header describes). f16 tensors (the shipped pretrained networks) are
/// widened to f32 first.
fn load_record<M: Module>(net: M, bytes: &[u8], offset: usize) -> Result<M, String> {
    let read = record_tensors(&bytes[offset..])?;
    let record = if read.0.iter().any(|t| t.dtype == DType::F16) {
        // Read once: the tensors just checked are the ones widened.
        recode(read, DType::F32, widen)?
    } else {
        bytes[offset..].to_vec()
    };
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(record))
        .map_err(|e| format!("the weights file's tensors are unreadable: {e}"))?;
    net.try_load_record(record)
        .map_err(|e| format!("the weights do not fit the network they describe: {e}"))
}

/// The header of a file for `model`, and the offset of its record: another model's file is
/// named as such (before its header is read as this model's).
fn parse_header<H: serde::de::DeserializeOwned>(
    bytes: &[u8],
    model: &str,
) -> Result<(H, usize), String> {
    let found = model_of(bytes)?.name();
    if found != model {
        return Err(format!(
            "these weights are for model '{found}', not {model}"
        ));
    }
    let (body, offset) = unframe(bytes)?;
    let header = serde_json::from_slice(body)
        .map_err(|e| format!("the weights file's header is invalid: {e}"))?;
    Ok((header, offset))
}

/// The model a weights file is for, if it is a weights file of a model the lab knows.
pub fn model_of(bytes: &[u8]) -> Result<crate::models::Model, String> {
    #[derive(Deserialize)]
    struct Named {
        model: String,
    }
    let (body, _) = unframe(bytes)?;
    let name = serde_json::from_slice::<Named>(body)
        .map(|m| m.model)
        .map_err(|e| format!("the weights file's header is invalid: {e}"))?;
    crate::models::Model::from_name(&name).ok_or_else(|| {
        format!(
            "these weights are for model '{name}', which this lab does not know (models: {})",
            crate::models::Model::names()
        )
    })
}

/// The header of a model whose whole run is described by one configuration value (MNIST,
/// Ising): the network is rebuilt from `config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigHeader<C> {
    pub model: String,
    pub config: C,
    pub steps: u64,
}

/// What an MNIST weights file says about its network.
pub type MnistHeader = ConfigHeader<MnistConfig>;
/// What an Ising weights file says about its network (and the run that trained it).
pub type IsingHeader = ConfigHeader<IsingConfig>;

/// Serialises a network described by `config` (readable synchronously: the CPU device or
/// natively).
fn encode_config<C: Serialize + Copy, M: Module>(
    model: &str,
    net: &M,
    config: &C,
    steps: u64,
) -> Result<Vec<u8>, String> {
    let header = ConfigHeader {
        model: model.into(),
        config: *config,
        steps,
    };
    frame(&header, net.clone())
}

/// Serialises an MNIST network (readable synchronously: the CPU device or natively). The
/// header records the activation `net` was built with, whatever `config` says: a page that
/// started from the (SiLU) pretrained network keeps its settings' choice for fresh networks.
pub fn encode_mnist(net: &MnistNet, config: &MnistConfig, steps: u64) -> Result<Vec<u8>, String> {
    let config = MnistConfig {
        activation: net.activation(),
        ..*config
    };
    encode_config("mnist", net, &config, steps)
}

/// Rebuilds an MNIST network on `device` from a file's bytes.
pub fn decode_mnist(bytes: &[u8], device: &Device) -> Result<(MnistNet, MnistHeader), String> {
    let (header, offset) = mnist_header(bytes)?;
    let net = load_record(header.config.init_net(device), bytes, offset)?;
    Ok((net, header))
}

/// Serialises an Ising network (readable synchronously: the CPU device or natively).
pub fn encode_ising(net: &IsingNet, config: &IsingConfig, steps: u64) -> Result<Vec<u8>, String> {
    encode_config("ising", net, config, steps)
}

/// Reads and checks an Ising weights file's header alone; the offset of its record.
pub fn ising_header(bytes: &[u8]) -> Result<(IsingHeader, usize), String> {
    use crate::settings::limits::{BETA, CHANNELS, FLIP, ISING_STEPS, LAYERS};
    let (header, offset) = parse_header::<IsingHeader>(bytes, "ising")?;
    let c = &header.config;
    let within = |v: f64, (lo, hi): (f64, f64)| (lo..=hi).contains(&v);
    if !(within(c.channels as f64, CHANNELS)
        && within(c.layers as f64, LAYERS)
        && c.kernel % 2 == 1
        && c.kernel <= crate::models::ising::lattice::L
        && within(c.beta, BETA)
        && within(c.r, FLIP)
        && within(c.sampler_steps as f64, ISING_STEPS))
    {
        return Err("the weights file describes an impossible network".into());
    }
    Ok((header, offset))
}

/// Rebuilds an Ising network on `device` from a file's bytes.
pub fn decode_ising(bytes: &[u8], device: &Device) -> Result<(IsingNet, IsingHeader), String> {
    let (header, offset) = ising_header(bytes)?;
    let net = load_record(header.config.net().init(device), bytes, offset)?;
    Ok((net, header))
}

/// Reads and checks an MNIST weights file's header alone; the offset of its record.
pub fn mnist_header(bytes: &[u8]) -> Result<(MnistHeader, usize), String> {
    let (header, offset) = parse_header::<MnistHeader>(bytes, "mnist")?;
    let c = &header.config;
    let (ch, lv, w, d) = crate::settings::limits::mnist_net_bounds();
    if !(ch.contains(&c.channels)
        && lv.contains(&c.levels)
        && w.contains(&c.width)
        && d.contains(&c.depth))
    {
        return Err("the weights file describes an impossible network".into());
    }
    Ok((header, offset))
}

/// Reads the header alone.
pub fn header(bytes: &[u8]) -> Result<(Header, usize), String> {
    let (header, offset) = parse_header::<Header>(bytes, "toy1d")?;
    if !(1..=512).contains(&header.width)
        || !(1..=8).contains(&header.depth)
        || !(header.data_var > 0.0 && header.data_var.is_finite())
    {
        return Err("the weights file describes an impossible network".into());
    }
    Ok((header, offset))
}

/// Rebuilds the score model on `device` from a file's bytes.
pub fn decode(bytes: &[u8], device: &Device) -> Result<(ScoreModel, Header), String> {
    let (header, offset) = header(bytes)?;
    let net = load_record(
        crate::models::toy1d::train::net_config(header.width, header.depth, header.activation)
            .init(device),
        bytes,
        offset,
    )?;
    Ok((
        ScoreModel {
            net,
            schedule: header.schedule,
            data_var: header.data_var,
        },
        header,
    ))
}
