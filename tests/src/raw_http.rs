//! HTTP/1.1 spoken by hand over a `TcpStream`, for what an HTTP client
//! hides: partial heads, stalled bodies, held connections, and when exactly
//! the server closes a socket.

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "status {}: body is not JSON: {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// `host:port` of a base URL such as `http://127.0.0.1:1234`.
pub fn authority(base_url: &str) -> &str {
    base_url.trim_start_matches("http://").trim_end_matches('/')
}

pub async fn connect(base_url: &str) -> TcpStream {
    TcpStream::connect(authority(base_url))
        .await
        .expect("connect to the server")
}

/// A complete request head with no body.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// A `POST` head declaring a body of `length` bytes, with extra header
/// lines such as `"Authorization: Bearer …"`.
pub fn post_head(path: &str, headers: &[&str], length: usize) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    head
}

/// Sends a JSON `POST` and reads the response.
pub async fn post_json(
    stream: &mut TcpStream,
    path: &str,
    body: &serde_json::Value,
) -> std::io::Result<RawResponse> {
    let body = body.to_string();
    let head = post_head(path, &["Content-Type: application/json"], body.len());
    stream.write_all(format!("{head}{body}").as_bytes()).await?;
    read_response(stream).await
}

/// Sends `GET path` and reads the response.
pub async fn request(stream: &mut TcpStream, path: &str) -> std::io::Result<RawResponse> {
    stream.write_all(get(path).as_bytes()).await?;
    read_response(stream).await
}

/// Reads one response with a `Content-Length` body (all this service sends).
pub async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<RawResponse> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_more(stream, &mut buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("no status line in {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().map_err(|_| invalid(format!("bad length {v}"))))
        .transpose()?
        .unwrap_or(0);
    while buf.len() < head_end + length {
        read_more(stream, &mut buf).await?;
    }
    Ok(RawResponse {
        status,
        headers,
        body: buf[head_end..head_end + length].to_vec(),
    })
}

async fn read_more(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// Waits for the server to close the connection (end of stream or reset),
/// discarding whatever it sends; `None` if it is still open after `limit`.
pub async fn closed_within(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let mut sink = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}
