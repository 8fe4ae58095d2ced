//! What the tests and benchmarks that run the `clientele` binary as a
//! process share: loopback ports, waiting for one to open, and a child
//! process killed on drop. Benchmarks cannot use a test library, so they
//! include this file with `#[path]`, as tests include `benches/load.rs`.

use std::net::SocketAddr;
use std::process::Child;
use std::time::{Duration, Instant};

/// A loopback address nothing listens on yet.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

/// Waits (up to 30 s) until something accepts connections on `addr`.
pub fn wait_for(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} never opened");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A child process, killed and reaped when dropped: a failed assertion
/// does not leave a server running.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
