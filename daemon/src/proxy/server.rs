//! The listener on the abstract socket `mbim-proxy` and one task per client.

use super::connection::{Output, ProxyConnection, MAX_CLIENT_IN_FLIGHT};
use super::names::{self, Target};
use super::peer::may_connect;
use crate::config::Config;
use crate::executor::{DeviceIndication, Passthrough, PassthroughAnswer, PassthroughPort};
use crate::logging::chain;
use crate::modem::Registry;
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::Uuid;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The abstract socket libmbim's clients connect to (libmbim's
/// `MBIM_PROXY_SOCKET_PATH`).
pub const SOCKET_NAME: &str = "mbim-proxy";

/// How long a client's CONFIGURATION may wait for the modem's supervisor.
const CONFIGURE_PATIENCE: Duration = Duration::from_secs(5);

/// The running proxy. Dropping it stops it and removes its FIFOs.
#[derive(Debug)]
pub struct ProxyHandle {
    config: watch::Sender<Arc<Config>>,
    directory: PathBuf,
    task: JoinHandle<()>,
}

impl ProxyHandle {
    /// A reloaded configuration: its admin group decides the next connections.
    pub fn set_config(&self, config: Arc<Config>) {
        self.config.send_replace(config);
    }

    /// Stops serving: no new client, and the executors' names removed.
    pub fn stop(&self) {
        self.task.abort();
        names::clear_directory(&self.directory);
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves the proxy as `[mbim-proxy]` says; `None` when it is off or the
/// socket is taken (by libmbim's own `mbim-proxy`, which ModemManager and
/// `mbimcli -p` start): then libmbim's tools reach modems through that one,
/// and never those mbimd holds. Said in the log.
pub fn start(config: Arc<Config>, registry: Registry) -> Option<ProxyHandle> {
    if !config.mbim_proxy.enable {
        return None;
    }
    let listener = match bind() {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(
                "libmbim's tools cannot reach mbimd's modems (`mbimcli -p`): the abstract socket \
                 {SOCKET_NAME} is not mbimd's: {} (libmbim's own mbim-proxy, started by \
                 ModemManager or mbimcli, may hold it)",
                chain(&error)
            );
            return None;
        }
    };
    let directory = config.mbim_proxy.directory.clone();
    tracing::info!(
        "libmbim's tools reach the modems through {SOCKET_NAME}: mbimcli -p -d {}/<network device>",
        directory.display()
    );
    let (config_tx, config_rx) = watch::channel(config);
    let task = tokio::spawn(serve(listener, config_rx, registry, directory.clone()));
    Some(ProxyHandle {
        config: config_tx,
        directory,
        task,
    })
}

fn bind() -> std::io::Result<UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(SOCKET_NAME.as_bytes())?;
    let listener = std::os::unix::net::UnixListener::bind_addr(&address)?;
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// What every client task shares.
#[derive(Clone)]
struct Shared {
    config: watch::Receiver<Arc<Config>>,
    registry: Registry,
    names: watch::Receiver<BTreeMap<String, Target>>,
    directory: PathBuf,
}

async fn serve(
    listener: UnixListener,
    config: watch::Receiver<Arc<Config>>,
    registry: Registry,
    directory: PathBuf,
) {
    let (names_tx, names_rx) = watch::channel(BTreeMap::new());
    tokio::spawn(follow_modems(
        registry.clone(),
        config.clone(),
        directory.clone(),
        names_tx,
    ));
    let shared = Shared {
        config,
        registry,
        names: names_rx,
        directory,
    };
    let own_uid = rustix::process::getuid().as_raw();
    let mut next_client: u64 = 1;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("{SOCKET_NAME}: accept: {}", chain(&error));
                // A persistent error (out of descriptors) must not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let client = next_client;
        next_client = next_client.wrapping_add(1);
        let credentials = match rustix::net::sockopt::socket_peercred(&stream) {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::warn!(
                    client,
                    "{SOCKET_NAME}: refused: cannot tell who connects: {error}"
                );
                continue;
            }
        };
        let (uid, gid) = (credentials.uid.as_raw(), credentials.gid.as_raw());
        let admin_gid = shared.config.borrow().dbus.admin_gid;
        if !may_connect(uid, gid, own_uid, admin_gid) {
            tracing::warn!(
                client,
                uid,
                "{SOCKET_NAME}: refused: only root, mbimd's user and [dbus] admin-group may \
                 use the modems through the proxy"
            );
            continue;
        }
        tracing::debug!(client, uid, "{SOCKET_NAME}: client connected");
        tokio::spawn(run_client(client, stream, shared.clone()));
    }
}

/// Keeps the names (and their FIFOs) in step with the modems present.
async fn follow_modems(
    registry: Registry,
    config: watch::Receiver<Arc<Config>>,
    directory: PathBuf,
    names_tx: watch::Sender<BTreeMap<String, Target>>,
) {
    let mut modems = registry.watch();
    loop {
        let handles = modems.borrow_and_update().clone();
        let mut snapshots: Vec<_> = handles
            .iter()
            .map(|(index, handle)| (*index, handle.watch()))
            .collect();
        loop {
            let current: Vec<_> = snapshots
                .iter_mut()
                .map(|(index, watch)| (*index, watch.borrow_and_update().clone()))
                .collect();
            let table = names::names(
                &config.borrow(),
                current.iter().map(|(index, snapshot)| (*index, snapshot)),
            );
            if *names_tx.borrow() != table {
                if let Err(error) = names::sync_directory(&directory, &table) {
                    tracing::warn!(
                        "{SOCKET_NAME}: cannot make the executors' names in {}: {}",
                        directory.display(),
                        chain(&error)
                    );
                }
                names_tx.send_replace(table);
            }
            // select_all panics on nothing: with no modem, only the registry.
            let any_changed = async {
                if snapshots.is_empty() {
                    return std::future::pending().await;
                }
                let changes = snapshots
                    .iter_mut()
                    .map(|(_, watch)| Box::pin(watch.changed()));
                let (result, index, _) = futures_util::future::select_all(changes).await;
                (result, index)
            };
            tokio::select! {
                result = modems.changed() => {
                    if result.is_err() {
                        return;
                    }
                    break;
                }
                (result, index) = any_changed => {
                    // A supervisor that ended: watched no more (the
                    // registry says so next).
                    if result.is_err() {
                        snapshots.remove(index);
                    }
                }
            }
        }
    }
}

/// A forwarded command's answer, back to the client task.
struct Answer {
    transaction_id: u32,
    service: Uuid,
    cid: u32,
    answer: PassthroughAnswer,
}

/// The executor a configured client talks to.
struct Attached {
    port: PassthroughPort,
    indications: broadcast::Receiver<DeviceIndication>,
}

async fn run_client(client: u64, stream: UnixStream, shared: Shared) {
    let (mut reader, mut writer) = stream.into_split();
    let mut connection = ProxyConnection::new();
    let (answers_tx, mut answers_rx) = mpsc::channel::<Answer>(MAX_CLIENT_IN_FLIGHT);
    let mut attached: Option<Attached> = None;
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let outputs = tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) => break,
                Ok(length) => {
                    let bytes = buffer.get(..length).unwrap_or_default();
                    connection.handle_bytes(std::time::Instant::now(), bytes)
                }
                Err(error) => {
                    tracing::debug!(client, "{SOCKET_NAME}: read: {}", chain(&error));
                    break;
                }
            },
            Some(answer) = answers_rx.recv() => vec![connection.answered(
                answer.transaction_id,
                answer.service,
                answer.cid,
                answer.answer,
            )],
            event = next_event(&mut attached) => match event {
                Event::Indication(indication) => connection.indication(&indication).into_iter().collect(),
                Event::Version(version) => connection.version_changed(version).into_iter().collect(),
                Event::Detached => {
                    attached = None;
                    Vec::new()
                }
                Event::Lagged(count) => {
                    tracing::warn!(client, "{SOCKET_NAME}: the client reads too slowly: {count} indications dropped");
                    Vec::new()
                }
            },
        };
        for output in outputs {
            match output {
                Output::Send(bytes) => {
                    if let Err(error) = writer.write_all(&bytes).await {
                        tracing::debug!(client, "{SOCKET_NAME}: write: {}", chain(&error));
                        return;
                    }
                }
                Output::Configure {
                    transaction_id,
                    path,
                } => {
                    let found = configure(client, &shared, &path).await;
                    let version = found.as_ref().map(|port| *port.version.borrow());
                    attached = found.map(|port| Attached {
                        indications: port.indications.subscribe(),
                        port,
                    });
                    for output in connection.configured(transaction_id, path, version) {
                        if let Output::Send(bytes) = output {
                            if writer.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Output::Forward {
                    transaction_id,
                    service,
                    cid,
                    command_type,
                    payload,
                } => {
                    let answer = |answer| Answer {
                        transaction_id,
                        service,
                        cid,
                        answer,
                    };
                    let Some(attached) = &attached else {
                        continue;
                    };
                    let (reply, answered) = oneshot::channel();
                    let request = Passthrough {
                        service,
                        cid,
                        command_type,
                        payload,
                        reply,
                    };
                    let refusal = match attached.port.commands.try_send(request) {
                        Ok(()) => None,
                        Err(mpsc::error::TrySendError::Full(_)) => Some(PassthroughAnswer::Done {
                            status: mbim_protocol::status::Status::Busy,
                            information_buffer: Vec::new(),
                        }),
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            Some(PassthroughAnswer::FunctionError(
                                mbim_protocol::status::ProtocolError::NotOpened,
                            ))
                        }
                    };
                    let answers_tx = answers_tx.clone();
                    let pending = answer(PassthroughAnswer::NoAnswer(String::new()));
                    tokio::spawn(async move {
                        let outcome = match refusal {
                            Some(refusal) => refusal,
                            None => answered.await.unwrap_or(PassthroughAnswer::FunctionError(
                                mbim_protocol::status::ProtocolError::NotOpened,
                            )),
                        };
                        let _ = answers_tx
                            .send(Answer {
                                answer: outcome,
                                ..pending
                            })
                            .await;
                    });
                }
                Output::Disconnect(reason) => {
                    tracing::warn!(client, "{SOCKET_NAME}: client dropped: {reason}");
                    return;
                }
            }
        }
    }
    tracing::debug!(client, "{SOCKET_NAME}: client left");
}

/// The executor `path` names, and its passthrough; `None` (logged) if none.
async fn configure(client: u64, shared: &Shared, path: &str) -> Option<PassthroughPort> {
    let table = shared.names.borrow().clone();
    let target = match names::resolve(&shared.directory, &table, Path::new(path)) {
        Ok(target) => target,
        Err(error) => {
            tracing::warn!(client, "{SOCKET_NAME}: {error}");
            return None;
        }
    };
    let handle = shared.registry.get(target.modem)?;
    let executor = usize::try_from(target.executor).ok()?;
    match tokio::time::timeout(CONFIGURE_PATIENCE, handle.passthrough(executor)).await {
        Ok(Ok(port)) => {
            tracing::info!(
                client,
                modem = target.modem,
                executor,
                "{SOCKET_NAME}: a libmbim client uses {path}"
            );
            Some(port)
        }
        Ok(Err(error)) => {
            tracing::warn!(client, "{SOCKET_NAME}: {path}: {}", chain(&error));
            None
        }
        Err(_) => {
            tracing::warn!(client, "{SOCKET_NAME}: {path}: the modem did not answer");
            None
        }
    }
}

enum Event {
    Indication(DeviceIndication),
    Version(MbimExVersion),
    Lagged(u64),
    Detached,
}

/// The attached executor's next indication or version change; never while
/// none is attached. An executor that ended detaches the client (its
/// commands then go nowhere and are answered NotOpened).
async fn next_event(attached: &mut Option<Attached>) -> Event {
    let Some(current) = attached.as_mut() else {
        return std::future::pending().await;
    };
    let mut version = current.port.version.clone();
    tokio::select! {
        received = current.indications.recv() => match received {
            Ok(indication) => Event::Indication(indication),
            Err(broadcast::error::RecvError::Lagged(count)) => Event::Lagged(count),
            Err(broadcast::error::RecvError::Closed) => Event::Detached,
        },
        changed = version.changed() => match changed {
            Ok(()) => {
                let agreed = *version.borrow_and_update();
                current.port.version = version;
                Event::Version(agreed)
            }
            Err(_) => std::future::pending().await,
        },
    }
}
