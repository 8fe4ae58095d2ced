//! A real Mosquitto (Debian's package) on a free loopback port, stopped on drop.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::smtp::free_port;

pub struct Mosquitto {
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Mosquitto {
    /// Starts a broker that keeps persistent sessions' messages in memory
    /// while their client is away (up to 100,000 per session).
    pub fn start() -> Mosquitto {
        let dir = tempfile::tempdir().expect("broker dir");
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n\
                 max_queued_messages 100000\nmax_inflight_messages 100\nlog_dest stderr\nlog_type error\n"
            ),
        )
        .expect("write broker config");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .spawn()
            .expect(
                "mosquitto is not installed: run scripts/test (it installs Debian's mosquitto)",
            );
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
        Mosquitto {
            addr,
            _dir: dir,
            child,
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
