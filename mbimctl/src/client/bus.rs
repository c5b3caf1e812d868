//! Reaching mbimd: the connection to the bus (the system bus or
//! `--address`) and proxies for its objects.

use super::proxy::{Executor1Proxy, Manager1Proxy, Modem1Proxy, BUS_NAME};
use super::target::Target;
use super::{BusArgs, ClientError};
use zbus::proxy::CacheProperties;
use zbus::Connection;

pub(super) async fn connect(bus: &BusArgs) -> Result<Connection, ClientError> {
    let builder = match &bus.address {
        Some(address) => zbus::connection::Builder::address(address.as_str()),
        None => zbus::connection::Builder::system(),
    }
    .map_err(ClientError::Connect)?;
    builder.build().await.map_err(ClientError::Connect)
}

pub(super) async fn manager_proxy(
    conn: &Connection,
) -> Result<Manager1Proxy<'static>, ClientError> {
    Ok(Manager1Proxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

pub(super) async fn modem_proxy(
    conn: &Connection,
    target: &Target,
) -> Result<Modem1Proxy<'static>, ClientError> {
    Ok(Modem1Proxy::builder(conn)
        .path(target.path.clone())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

pub(super) async fn executor_proxy(
    conn: &Connection,
    target: &Target,
) -> Result<Executor1Proxy<'static>, ClientError> {
    Ok(Executor1Proxy::builder(conn)
        .path(target.path.clone())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

pub(super) async fn properties_proxy(
    conn: &Connection,
    path: &str,
) -> Result<zbus::fdo::PropertiesProxy<'static>, ClientError> {
    Ok(zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)?
        .path(path.to_owned())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}
