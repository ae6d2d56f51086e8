//! Accept loop, TLS, per-connection tasks, graceful shutdown, and the blocking wrapper.
//!
//! The shape follows tokio's mini-redis: one task per connection, a shutdown signal every task
//! watches, a bounded number of connections, and on shutdown a grace period for requests in
//! flight before anything left is cut.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use super::api::{self, AppState, ConnectionControl};
use super::config::{ServerConfig, ServerStats};
use super::token::ClientIdentity;
use super::ServerError;

/// A client has this long to finish the TLS handshake: a silent peer must not hold a
/// connection slot for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// And this long to send a request's headers once it started, or to start the next request
/// on an idle keep-alive connection (hyper's header-read timeout).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves on `listener` until `shutdown` resolves, then stops accepting, lets requests in
/// flight finish (up to the configured grace, 5 s by default) and returns.
///
/// Failures of single connections (handshake refused, garbage, a peer that vanishes) are
/// logged at debug level and never end the server.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let acceptor = TlsAcceptor::from(config.tls.clone());
    let router = api::router(Arc::new(AppState::new(&config)));
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("listening on {addr}");
    }

    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // the semaphore is never closed
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let connection = Connection {
            acceptor: acceptor.clone(),
            router: router.clone(),
            http: http.clone(),
            stop: stop_rx.clone(),
        };
        connections.spawn(async move {
            connection.run(stream, peer).await;
            drop(permit);
        });
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            "{} connection(s) still busy after the shutdown grace; closing them",
            connections.len()
        );
        connections.shutdown().await;
    }
    Ok(())
}

struct Connection {
    acceptor: TlsAcceptor,
    router: Router,
    http: auto::Builder<TokioExecutor>,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        // Small request/response exchanges: Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream));
        let tls = tokio::select! {
            result = handshake => match result {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!("{peer}: TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("{peer}: TLS handshake timed out");
                    return;
                }
            },
            _ = self.stop.wait_for(|stop| *stop) => return,
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        // The facility certificate this connection authenticated with: login tokens are bound
        // to it.
        let identity = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|certificate| ClientIdentity::of(certificate.as_ref()));
        let http = if h2 {
            self.http.http2_only()
        } else {
            self.http.http1_only()
        };

        let control = ConnectionControl::default();
        let router = self.router;
        let request_control = control.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(request_control.clone());
            if let Some(identity) = identity {
                request.extensions_mut().insert(identity);
            }
            let mut router = router.clone();
            // Router is always ready (axum documents `poll_ready` as always `Ready`).
            async move { router.call(request).await }
        });
        let conn = http.serve_connection(TokioIo::new(tls), service);
        tokio::pin!(conn);
        let mut stopping = *self.stop.borrow();
        if stopping {
            conn.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("{peer}: connection ended with an error: {e}");
                    }
                    return;
                }
                () = control.closed() => {
                    tracing::debug!("{peer}: dropping the connection (fault)");
                    return;
                }
                _ = self.stop.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A server running on its own thread and runtime, for synchronous callers.
///
/// Dropping it shuts the server down (gracefully, waiting for the thread).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stats: ServerStats,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server counted (logins, refused tokens).
    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// `https://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops the server and waits for it: requests in flight get the shutdown grace.
    pub fn shutdown(mut self) -> Result<(), ServerError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| ServerError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            tracing::warn!("mock server: {e}");
        }
    }
}

/// Starts the server on `127.0.0.1:0` (a free port) on its own thread and tokio runtime.
pub fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    spawn_on(SocketAddr::from(([127, 0, 0, 1], 0)), config)
}

/// Like [`spawn`] on a given address. Binding happens before this returns, so the server
/// accepts connections as soon as the caller has the address.
pub fn spawn_on(addr: SocketAddr, config: ServerConfig) -> Result<RunningServer, ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
        .thread_name("onshi-mock-worker")
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    let std_listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr, source })?;
    std_listener
        .set_nonblocking(true)
        .map_err(ServerError::Runtime)?;
    let bound = std_listener.local_addr().map_err(ServerError::Runtime)?;
    let listener = {
        let _context = runtime.enter();
        TcpListener::from_std(std_listener).map_err(ServerError::Runtime)?
    };
    let stats = config.stats();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("onshi-mock-server".to_string())
        .spawn(move || {
            let result = runtime.block_on(serve(listener, config, async {
                // Resolves on send and on drop of the sender alike.
                let _ = stop_rx.await;
            }));
            runtime.shutdown_timeout(Duration::from_secs(1));
            result
        })
        .map_err(ServerError::Runtime)?;
    Ok(RunningServer {
        addr: bound,
        stats,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}
