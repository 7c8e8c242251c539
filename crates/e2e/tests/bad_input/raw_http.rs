//! Raw HTTP/1.1, so paths reach the gateway exactly as written (`..`, `%00`), which a URL
//! library would normalise first, and headers may carry bytes no client library sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixture::Target;

/// A request that gets no answer in this time counts as dropped.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Sent exactly as written.
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    /// Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    chunked: bool,
}

impl Req {
    pub fn new(method: &str, path: impl Into<String>) -> Req {
        Req {
            method: method.to_owned(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            chunked: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Req {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn cookie(self, cookie: Option<&[u8]>) -> Req {
        match cookie {
            Some(cookie) => self.header("Cookie", cookie),
            None => self,
        }
    }

    /// A body with this `Content-Type` (none when `None`).
    pub fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Req {
        if let Some(content_type) = content_type {
            self = self.header("Content-Type", content_type);
        }
        self.body = Some(body.into());
        self
    }

    pub fn json(self, body: &Value) -> Req {
        self.body(Some("application/json"), body.to_string())
    }

    pub fn chunked(mut self) -> Req {
        self.chunked = true;
        self
    }

    fn encode(&self, target: &Target) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: e2e-bad-input\r\n",
            self.method, self.path, target.addr
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        match (&self.body, self.chunked) {
            (Some(body), false) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            (Some(body), true) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in body.chunks(8 * 1024) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            (None, _) => out.extend_from_slice(b"\r\n"),
        }
        out
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut snippet: String = text.chars().take(300).collect();
        if text.chars().count() > 300 {
            snippet.push('…');
        }
        format!(
            "{} ({}){} {snippet:?}",
            self.status,
            if self.content_type.is_empty() {
                "no Content-Type"
            } else {
                &self.content_type
            },
            self.location
                .as_deref()
                .map(|location| format!(" Location: {location}"))
                .unwrap_or_default()
        )
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends one request on a fresh connection and reads the answer to the end.
pub async fn send(target: &Target, req: &Req) -> Result<Answer, String> {
    let bytes = req.encode(target);
    let exchange = async {
        let mut stream = TcpStream::connect(&target.addr)
            .await
            .map_err(|error| format!("cannot connect to {}: {error}", target.addr))?;
        // A server may answer (413) and close before reading all of a large body: a failed
        // write is not a failure by itself, the answer (or its absence) decides.
        let written = stream.write_all(&bytes).await;
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw).await;
        match (read, written) {
            (_, _) if !raw.is_empty() => Ok(raw),
            (Err(error), _) => Err(format!("connection dropped: {error}")),
            (Ok(_), Err(error)) => Err(format!("connection dropped while sending: {error}")),
            (Ok(_), Ok(())) => Err("connection closed without an answer".to_owned()),
        }
    };
    let raw = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {ANSWER_TIMEOUT:?}"))??;
    parse_answer(&raw, req.method == "HEAD")
}

fn parse_answer(raw: &[u8], head_only: bool) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| format!("an incomplete answer ({} bytes)", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("a malformed status line {status_line:?}"))?;
    let mut headers = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let rest = &raw[end + 4..];
    let body = if head_only {
        Vec::new()
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)?
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("a malformed Content-Length {length:?}"))?;
        if rest.len() < length {
            return Err(format!(
                "the answer was cut short: {} of {length} bytes of body",
                rest.len()
            ));
        }
        rest[..length].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Answer {
        status,
        content_type: headers.get("content-type").cloned().unwrap_or_default(),
        location: headers.get("location").cloned(),
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or("a chunked answer cut short")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("a malformed chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("a chunked answer cut short".to_owned());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
