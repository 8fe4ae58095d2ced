//! ThingsBoard's own Python REST clients (PyPI `tb-rest-client`, and
//! `tb-pe-client` for the Professional Edition's API), unmodified, against
//! a real Clientele: `tests/python/test_tb_rest_client.py`,
//! `tests/python/test_tb_pe_client.py`.

use std::process::Command;

use clientele_tests::smtp::{python, workspace};
use clientele_tests::{PASSWORD, TENANT_ADMIN, TestServer};

/// Runs one pytest file of `tests/python` against a fresh server, and
/// checks that every test in it ran and passed.
async fn run_pytest(file: &'static str) {
    let server = TestServer::start().await;
    let url = server.url("");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", file])
            .current_dir(workspace())
            .env("CLIENTELE_URL", url)
            .env("CLIENTELE_TENANT_ADMIN_EMAIL", TENANT_ADMIN)
            .env("CLIENTELE_TENANT_ADMIN_PASSWORD", PASSWORD)
            .output()
            .expect("run pytest")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pytest failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("passed") && !stdout.contains("skipped"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thingsboards_python_rest_client_works_unmodified() {
    run_pytest("tests/python/test_tb_rest_client.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thingsboards_professional_edition_client_works_unmodified() {
    run_pytest("tests/python/test_tb_pe_client.py").await;
}
