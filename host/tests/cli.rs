//! The `clientele` binary as an operator runs it: embedded defaults, the
//! first start's printed credentials, SIGTERM, a restart, a bad config file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
        .current_dir(dir)
        .env_clear()
        .env("CLIENTELE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("CLIENTELE_MQTT_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start clientele")
}

/// Waits (bounded) until the port accepts connections.
fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the service did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn defaults_print_generated_credentials_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start(dir.path(), port);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert!(lines[0].starts_with("First start"), "{lines:?}");
    let admin = &lines[2];
    assert!(
        admin.contains("tenant administrator: tenant@clientele.local"),
        "{admin}"
    );
    let password = admin
        .split("password: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    wait_for_port(port);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let login = |password: String| {
        rt.block_on(async move {
            reqwest::Client::new()
                .post(format!("http://127.0.0.1:{port}/api/auth/login"))
                .json(&serde_json::json!({"username": "tenant@clientele.local", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    assert_eq!(login(password.clone()), reqwest::StatusCode::OK);
    assert!(terminate(&mut child).success());
    assert!(
        dir.path().join("data/clientele.redb").exists(),
        "data lands in ./data"
    );

    // The second start finds its data: no new accounts, the same password works.
    let mut again = start(dir.path(), port);
    wait_for_port(port);
    assert_eq!(login(password), reqwest::StatusCode::OK);
    assert!(terminate(&mut again).success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut again.stdout.take().unwrap(), &mut rest).unwrap();
    assert!(!rest.contains("First start"), "{rest}");
}

#[test]
fn a_bad_config_file_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "http_adr = '127.0.0.1:1'\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("http_adr"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created on a refused start"
    );
}
