//! Precompression of the page's assets: every `.wasm`, `.js` and `.css` file in `web/dist/` gets
//! a `.br` (brotli, quality 11) and a `.gz` (gzip, level 9) beside it, so that `cargo xtask lab`
//! (and any static server that looks for them) sends about a quarter of the WebAssembly's bytes
//! without compressing on every request.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One asset and its sizes.
#[derive(Debug)]
pub struct Compressed {
    pub file: PathBuf,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Writes `<file>.gz` and `<file>.br` for every compressible file under `dir`.
pub fn precompress(dir: &Path) -> Result<Vec<Compressed>> {
    let mut out = Vec::new();
    for file in files(dir)? {
        let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let gzip = gzip(&bytes)?;
        let brotli = brotli(&bytes)?;
        std::fs::write(sibling(&file, "gz"), &gzip)?;
        std::fs::write(sibling(&file, "br"), &brotli)?;
        out.push(Compressed { raw: len(&bytes), gzip: len(&gzip), brotli: len(&brotli), file });
    }
    Ok(out)
}

/// `file` with `.ext` appended (`a.wasm` → `a.wasm.br`).
pub fn sibling(file: &Path, ext: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).expect("a usize fits a u64")
}

fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js" | "css")) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn writes_both_encodings_that_decode_to_the_original() {
        let dir = std::env::temp_dir().join(format!("distlab-compress-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        let body: Vec<u8> = (0..50_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        std::fs::write(dir.join("assets").join("a.wasm"), &body).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        let done = precompress(&dir).unwrap();
        assert_eq!(done.len(), 1, "only .wasm, .js and .css are precompressed");
        assert!(done[0].brotli < done[0].raw / 10 && done[0].gzip < done[0].raw / 5, "{:?}", done[0]);
        let wasm = dir.join("assets").join("a.wasm");
        let mut gunzipped = Vec::new();
        flate2::read::GzDecoder::new(&std::fs::read(sibling(&wasm, "gz")).unwrap()[..])
            .read_to_end(&mut gunzipped)
            .unwrap();
        assert_eq!(gunzipped, body);
        let mut unbrotlied = Vec::new();
        brotli::BrotliDecompress(&mut &std::fs::read(sibling(&wasm, "br")).unwrap()[..], &mut unbrotlied).unwrap();
        assert_eq!(unbrotlied, body);
        assert!(!dir.join("index.html.br").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
