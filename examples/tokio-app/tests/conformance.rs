//! The `fcgi-conformance` application suite against this crate's
//! application, started in-process on 127.0.0.1: one libtest test per
//! case, named by its id (`cargo test -p fcgi-example-tokio-app -- --list`,
//! `cargo test -p fcgi-example-tokio-app -- app/5.4`).

use fcgi_conformance::harness::{self, Expectations};
use fcgi_conformance::AppSuite;

fn main() {
    // The application runs on its own runtime, on its own thread; the
    // harness runs the suite on another.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    listener.set_nonblocking(true).expect("non-blocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the application's runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            fcgi_example_tokio_app::serve(listener).await;
        });
    });
    // This application meets every SHOULD too, so a warning fails its
    // test. A known deviation would be accepted here, with its reason:
    // `.expect("app/3.3/aligned-output", Verdict::Warn)`.
    let expect = Expectations::new().strict(true);
    harness::run_app(AppSuite::connect(addr.to_string()), expect).exit();
}
