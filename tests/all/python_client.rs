//! ThingsBoard's own Python REST client (PyPI `tb-rest-client`), unmodified,
//! against a real Clientele: `tests/python/test_tb_rest_client.py`.

use std::process::Command;

use clientele_tests::smtp::{python, workspace};
use clientele_tests::{PASSWORD, TENANT_ADMIN, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thingsboards_python_rest_client_works_unmodified() {
    let server = TestServer::start().await;
    let url = server.url("");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/python/test_tb_rest_client.py",
            ])
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
