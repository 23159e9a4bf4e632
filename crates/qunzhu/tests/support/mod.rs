//! Shared by the binary's tests: run `qunzhu` on a temporary data directory, serve it, and
//! speak just enough HTTP/1.1 over a socket to sign in (no client library needed).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `qunzhu ARGS` on `data`, with `stdin` fed in; (success, stdout, stderr).
pub fn qunzhu(data: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(args)
        .env_remove("QUNZHU_DATABASE_URL")
        .env("QUNZHU_DATA_DIR", data)
        .env("QUNZHU_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qunzhu runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    let output = child.wait_with_output().expect("qunzhu ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).trim().to_string(),
    )
}

/// The password a `users add` or `users passwd` printed once.
pub fn printed_password(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("password (shown once, keep it safe): "))
        .unwrap_or_else(|| panic!("no password printed in {stdout:?}"))
        .to_string()
}

/// A running `qunzhu serve`, killed when dropped.
pub struct Served {
    pub child: Child,
    pub base: String,
    pub port: u16,
    /// What it printed on stdout before the console was up.
    pub banner: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Starts `qunzhu serve` on a free port of loopback and waits until it answers `/healthz`.
pub fn serve(data: &Path) -> Served {
    serve_with_env(data, &[])
}

/// [`serve`] with extra environment variables (a webhook secret).
pub fn serve_with_env(data: &Path, envs: &[(&str, &str)]) -> Served {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .arg("serve")
        .envs(envs.iter().copied())
        .env_remove("QUNZHU_DATABASE_URL")
        .env("QUNZHU_DATA_DIR", data)
        .env("QUNZHU_HTTP_PORT", port.to_string())
        .env("QUNZHU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("qunzhu serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let mut served = Served {
        child,
        base,
        port,
        banner: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        while let Ok(line) = lines.try_recv() {
            served.banner.push(line);
        }
        if served
            .banner
            .iter()
            .any(|l| l.starts_with("qunzhu is running"))
            && get(port, "/healthz", "").0 == 200
        {
            // Give the rest of the banner a moment to arrive.
            std::thread::sleep(Duration::from_millis(100));
            while let Ok(line) = lines.try_recv() {
                served.banner.push(line);
            }
            return served;
        }
        if let Ok(Some(status)) = served.child.try_wait() {
            panic!("qunzhu serve exited with {status}: {:?}", served.banner);
        }
        assert!(
            Instant::now() < deadline,
            "qunzhu serve did not come up: {:?}",
            served.banner
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.1 exchange; (status, headers lower-cased, body). Status 0 when nothing answers.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, Vec::new(), String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let message = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    if stream.write_all(message.as_bytes()).is_err() {
        return (0, Vec::new(), String::new());
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return (0, Vec::new(), text);
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

pub fn get(port: u16, path: &str, cookie: &str) -> (u16, Vec<(String, String)>, String) {
    let headers = if cookie.is_empty() {
        String::new()
    } else {
        format!("Cookie: {cookie}\r\n")
    };
    request(port, "GET", path, &headers, "")
}

/// The value of cookie `name` set by a response.
pub fn set_cookie(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|(header, _)| header == "set-cookie")
        .filter_map(|(_, value)| value.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

fn form_part(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in through the login form; (status, session cookie value if one was set).
pub fn sign_in(port: u16, login: &str, password: &str) -> (u16, Option<String>) {
    let (_, headers, body) = get(port, "/login", "");
    let token = set_cookie(&headers, "qz_login_csrf").expect("login CSRF cookie");
    assert!(body.contains(&token), "the form carries the CSRF token");
    let form = format!(
        "_csrf={}&next=%2F&login={}&password={}",
        form_part(&token),
        form_part(login),
        form_part(password)
    );
    let (status, headers, _) = request(
        port,
        "POST",
        "/login",
        &format!(
            "Content-Type: application/x-www-form-urlencoded\r\nCookie: qz_login_csrf={token}\r\n"
        ),
        &form,
    );
    (
        status,
        set_cookie(&headers, "qz_session").filter(|v| !v.is_empty()),
    )
}
