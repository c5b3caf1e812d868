//! The USB/IP server over TCP, as usbipd: one operation request per
//! connection (the device list, or an import that then serves URBs).

use super::{ServerError, SimUsbDevice, BUSID};
use crate::usb::usbip::{OpHeader, OpReply, OpRequest, OP_HEADER_LEN};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

/// Serves USB/IP on `listener` like usbipd: `OP_REQ_DEVLIST` lists the
/// device, `OP_REQ_IMPORT` of [`BUSID`] attaches it (one client at a time).
/// Returns when the modem is unplugged.
pub async fn serve_tcp(
    listener: TcpListener,
    device: Arc<SimUsbDevice>,
) -> Result<(), ServerError> {
    if let Ok(address) = listener.local_addr() {
        info!(%address, busid = BUSID, "USB/IP server listening");
    }
    loop {
        tokio::select! {
            () = device.modem.unplugged() => {
                info!("modem unplugged; USB/IP server stops");
                return Ok(());
            }
            accepted = listener.accept() => {
                let (stream, peer) = accepted?;
                debug!(%peer, "USB/IP client connected");
                let device = device.clone();
                tokio::spawn(async move {
                    if let Err(error) = handle_client(stream, &device).await {
                        warn!(%error, "USB/IP client");
                    }
                });
            }
        }
    }
}

/// One usbipd connection: an operation request, then URBs if it imports.
async fn handle_client(mut stream: TcpStream, device: &SimUsbDevice) -> Result<(), ServerError> {
    // URBs are small and latency-bound (RESPONSE_AVAILABLE, control replies).
    stream.set_nodelay(true)?;
    let mut header = [0u8; OP_HEADER_LEN];
    stream.read_exact(&mut header).await?;
    let header = OpHeader::decode(&header)?;
    let mut body = vec![0u8; OpRequest::body_len(&header)?];
    stream.read_exact(&mut body).await?;
    match OpRequest::decode(&header, &body)? {
        OpRequest::DevList => {
            let entries = if device.modem.is_unplugged() {
                Vec::new()
            } else {
                vec![device.devlist_entry()]
            };
            stream
                .write_all(&OpReply::DevList(entries).encode()?)
                .await?;
            Ok(())
        }
        OpRequest::Import { busid } => {
            let refuse = busid != BUSID
                || device.modem.is_unplugged()
                || device.imported.swap(true, Ordering::SeqCst);
            if refuse {
                info!(%busid, "import refused");
                stream.write_all(&OpReply::Import(None).encode()?).await?;
                return Ok(());
            }
            let reply = OpReply::Import(Some(device.usbip_device())).encode();
            let result = match reply {
                Ok(bytes) => match stream.write_all(&bytes).await {
                    Ok(()) => {
                        info!(%busid, "device imported");
                        device.serve_urbs(stream).await.map(|_| ())
                    }
                    Err(e) => Err(e.into()),
                },
                Err(e) => Err(e.into()),
            };
            device.imported.store(false, Ordering::SeqCst);
            result
        }
    }
}
