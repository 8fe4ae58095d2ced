//! The `clientele` binary as an operator runs it: embedded defaults, the
//! first start's printed credentials, SIGTERM, a restart, a bad config file.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Killed, free_addr, wait_for};

fn start(dir: &std::path::Path, http: SocketAddr) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .current_dir(dir)
        .env_clear()
        .env("CLIENTELE_HTTP_ADDR", http.to_string())
        .env("CLIENTELE_MQTT_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start clientele");
    Killed(child)
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
    let http = free_addr();
    let mut child = start(dir.path(), http);
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
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
    wait_for(http);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let login = |password: String| {
        rt.block_on(async move {
            reqwest::Client::new()
                .post(format!("http://{http}/api/auth/login"))
                .json(&serde_json::json!({"username": "tenant@clientele.local", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    assert_eq!(login(password.clone()), reqwest::StatusCode::OK);
    assert!(terminate(&mut child.0).success());
    assert!(
        dir.path().join("data/clientele.redb").exists(),
        "data lands in ./data"
    );

    // The second start finds its data: no new accounts, the same password works.
    let mut again = start(dir.path(), http);
    wait_for(http);
    assert_eq!(login(password), reqwest::StatusCode::OK);
    assert!(terminate(&mut again.0).success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut again.0.stdout.take().unwrap(), &mut rest).unwrap();
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
