//! A real SMTP server on loopback (Python's aiosmtpd, `tests/python/smtp_sink.py`)
//! that stores every message it accepts as a file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python with the test packages: `TEST_PYTHON`, or the venv that
/// `scripts/test` creates. A missing interpreter fails the test, never skips it.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace().join("target/python-venv/bin/python");
    assert!(
        venv.exists(),
        "no Python test environment: run scripts/test (or set TEST_PYTHON to a Python \
         with tests/python/requirements.txt installed)"
    );
    venv
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().expect("mail dir");
        let port = free_port();
        let mut child = Command::new(python())
            .arg(workspace().join("tests/python/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("sink stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("sink output");
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        SmtpSink { port, dir, child }
    }

    /// Messages received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(self.dir.path())
            .expect("read mail dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| {
                let n = p.file_stem()?.to_str()?.parse().ok()?;
                (p.extension()? == "eml").then_some((n, p))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read_to_string(p).expect("read mail"))
            .collect()
    }

    /// Waits (up to 10 s) until `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first URL in a mail body (quoted-printable soft breaks undone).
pub fn link_in(mail: &str) -> String {
    let body = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = body.find("http://").expect("a link in the mail");
    body[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_owned()
}
