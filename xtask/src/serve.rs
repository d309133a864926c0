//! A small static file server for `cargo xtask lab`: serves `web/dist/` on 127.0.0.1 with the
//! right content types (`application/wasm` included), nothing else, no dependencies. A file with
//! a precompressed sibling (`.br`, `.gz`, written by the build) is sent in the best encoding the
//! browser accepts, with `X-Decoded-Length` (its size once decoded) for the loading screen's
//! progress bar.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

/// Binds `port` (0 picks a free one) and returns the listener and its port.
pub fn bind(port: u16) -> Result<(TcpListener, u16)> {
    let listener =
        TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// Serves `dir` until the process is stopped.
pub fn serve(listener: TcpListener, dir: &Path) -> Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            let _ = respond(stream, &dir);
        });
    }
    Ok(())
}

fn respond(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut accept_encoding = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("accept-encoding")
        {
            accept_encoding = value.trim().to_ascii_lowercase();
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let file = resolve(dir, path);
    match file.and_then(|f| read_encoded(&f, &accept_encoding).map(|body| (f, body))) {
        Some((file, (body, encoding, decoded))) => {
            let encoded = match encoding {
                Some(e) => format!("Content-Encoding: {e}\r\nX-Decoded-Length: {decoded}\r\n"),
                None => String::new(),
            };
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n{encoded}Vary: Accept-Encoding\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
                content_type(&file),
                body.len()
            );
            stream.write_all(header.as_bytes())?;
            stream.write_all(&body)
        }
        None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"),
    }
}

/// The body to send for `file`: its brotli or gzip sibling when the browser accepts that encoding
/// and the build wrote one, else the file itself; with the encoding and the decoded size.
fn read_encoded(file: &Path, accept_encoding: &str) -> Option<(Vec<u8>, Option<&'static str>, u64)> {
    let accepts = |e: &str| accept_encoding.split(',').any(|a| a.split(';').next().is_some_and(|a| a.trim() == e));
    let decoded = std::fs::metadata(file).ok()?.len();
    for (encoding, ext) in [("br", "br"), ("gzip", "gz")] {
        if accepts(encoding)
            && let Ok(body) = std::fs::read(crate::compress::sibling(file, ext))
        {
            return Some((body, Some(encoding), decoded));
        }
    }
    std::fs::read(file).ok().map(|body| (body, None, decoded))
}

/// The file for a URL path, never outside `dir`; `/` is `index.html`.
fn resolve(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = if url_path == "/" { dir.join("index.html") } else { dir.join(relative) };
    file.is_file().then_some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_files_inside_the_directory_only() {
        let dir = std::env::temp_dir().join(format!("distlab-serve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("assets").join("a.wasm"), [0u8, 97, 115, 109]).unwrap();
        assert_eq!(resolve(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(resolve(&dir, "/assets/a.wasm"), Some(dir.join("assets").join("a.wasm")));
        assert_eq!(resolve(&dir, "/../etc/passwd"), None, "no way out of the directory");
        assert_eq!(resolve(&dir, "/assets/../../x"), None);
        assert_eq!(resolve(&dir, "/missing.js"), None);
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(content_type(Path::new("index.html")), "text/html; charset=utf-8");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn answers_over_http_with_the_right_type() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("distlab-serve-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.wasm"), [0u8, 97, 115, 109]).unwrap();
        let (listener, port) = bind(0).unwrap();
        let served = dir.clone();
        std::thread::spawn(move || serve(listener, &served));
        let get = |path: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let wasm = get("/m.wasm");
        assert!(
            wasm.starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/wasm\r\nContent-Length: 4\r\n"),
            "{wasm}"
        );
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sends_the_best_precompressed_sibling_the_browser_accepts() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("distlab-serve-enc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.wasm"), [0u8; 1_000]).unwrap();
        std::fs::write(dir.join("m.wasm.br"), [1u8; 10]).unwrap();
        std::fs::write(dir.join("m.wasm.gz"), [2u8; 20]).unwrap();
        std::fs::write(dir.join("plain.js"), "x").unwrap();
        let (listener, port) = bind(0).unwrap();
        let served = dir.clone();
        std::thread::spawn(move || serve(listener, &served));
        let get = |path: &str, accept: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {accept}\r\n\r\n").as_bytes())
                .unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            String::from_utf8_lossy(&out).into_owned()
        };
        let br = get("/m.wasm", "gzip, deflate, br, zstd");
        assert!(br.contains("Content-Length: 10\r\nContent-Encoding: br\r\nX-Decoded-Length: 1000\r\n"), "{br}");
        let gz = get("/m.wasm", "gzip;q=1.0");
        assert!(gz.contains("Content-Length: 20\r\nContent-Encoding: gzip\r\n"), "{gz}");
        let plain = get("/m.wasm", "identity");
        assert!(plain.contains("Content-Length: 1000\r\nVary: Accept-Encoding\r\n"), "{plain}");
        assert!(!plain.contains("Content-Encoding"), "{plain}");
        let js = get("/plain.js", "br");
        assert!(js.contains("Content-Length: 1\r\n") && !js.contains("Content-Encoding"), "no sibling: {js}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
