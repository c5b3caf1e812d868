//! dev.mbimd.Executor1 at `/dev/mbimd/Mbimd1/Modem<m>/Executor<e>`.

use super::access::{authorize, may_see_personal};
use super::errors::{within_deadline, MethodError};
use super::overrides;
use super::view::ExecutorView;
use super::Shared;
use crate::executor::{ExecutorCommand, Secret};
use crate::logging::personal;
use crate::modem::{ModemHandle, ModemSnapshot};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;
use zbus::message::Header;
use zbus::zvariant::OwnedValue;
use zbus::Connection;

/// One executor's object.
pub(crate) struct ExecutorObject {
    shared: Arc<Shared>,
    handle: ModemHandle,
    snapshot: watch::Receiver<ModemSnapshot>,
    index: u32,
}

impl ExecutorObject {
    pub(crate) fn new(shared: Arc<Shared>, handle: ModemHandle, index: u32) -> Self {
        let snapshot = handle.watch();
        ExecutorObject {
            shared,
            handle,
            snapshot,
            index,
        }
    }

    fn view(&self) -> ExecutorView {
        ExecutorView::new(&self.snapshot.borrow(), self.index)
    }

    /// Checks the caller, then runs `command` and waits for its outcome.
    async fn run(
        &self,
        connection: &Connection,
        header: &Header<'_>,
        what: &str,
        command: impl FnOnce(&Self) -> Result<ExecutorCommand, MethodError>,
    ) -> Result<(), MethodError> {
        authorize(connection, &self.shared, header, what).await?;
        let command = command(self)?;
        let executor = usize::try_from(self.index)
            .map_err(|_| MethodError::InvalidArgs(format!("{what}: no such executor")))?;
        within_deadline(what, self.handle.executor_command(executor, command)).await
    }

    async fn personal_value(
        &self,
        value: String,
        connection: &Connection,
        header: Option<&Header<'_>>,
    ) -> String {
        let show = may_see_personal(connection, &self.shared, header).await;
        personal(&value, show).to_string()
    }
}

/// A PIN (or new PIN) argument: 4 to 8 digits. The value never goes into
/// the message.
fn pin(value: String, what: &str, argument: &str) -> Result<Secret, MethodError> {
    let digits = value.len();
    if (4..=8).contains(&digits) && value.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(Secret::new(value))
    } else {
        Err(MethodError::InvalidArgs(format!(
            "{what}: {argument} must be 4 to 8 digits"
        )))
    }
}

/// A PUK argument: 8 digits (3GPP TS 31.101).
fn puk(value: String, what: &str) -> Result<Secret, MethodError> {
    if value.len() == 8 && value.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(Secret::new(value))
    } else {
        Err(MethodError::InvalidArgs(format!(
            "{what}: puk must be 8 digits"
        )))
    }
}

/// One executor (MBIM function): its SIM, registration, connection and
/// traffic.
#[zbus::interface(name = "dev.mbimd.Executor1")]
impl ExecutorObject {
    /// The executor's index within the modem.
    #[zbus(property(emits_changed_signal = "const"))]
    fn index(&self) -> u32 {
        self.index
    }

    /// Where the executor is: opening, initializing, radio-off,
    /// waiting-for-sim, locked, registering, attaching, idle, connecting,
    /// waiting-to-reconnect, connected, disconnecting, resetting, failed,
    /// suspended (closed while the host sleeps), gone, stopped.
    #[zbus(property)]
    fn state(&self) -> String {
        self.view().state
    }

    /// Why it is in a waiting, failed or down state, in words (empty if
    /// there is nothing to say).
    #[zbus(property)]
    fn state_reason(&self) -> String {
        self.view().state_reason
    }

    /// SUBSCRIBER_READY_STATUS ReadyState (not-initialized, initialized,
    /// sim-not-inserted, bad-sim, failure, not-activated, device-locked,
    /// no-esim-profile; unknown before the first report).
    #[zbus(property)]
    fn ready_state(&self) -> String {
        self.view().ready_state
    }

    /// Whether the radio is on (software switch on, hardware switch not off).
    #[zbus(property)]
    fn radio_on(&self) -> bool {
        self.view().radio_on
    }

    /// The PIN or PUK the SIM waits for (none, pin1, puk1, …).
    #[zbus(property)]
    fn pin_type(&self) -> String {
        self.view().pin_type
    }

    /// locked or unlocked (unknown before the first report).
    #[zbus(property)]
    fn pin_state(&self) -> String {
        self.view().pin_state
    }

    /// Attempts left for PinType (-1 unknown).
    #[zbus(property)]
    fn pin_retries_left(&self) -> i32 {
        self.view().pin_retries_left
    }

    /// The registration state (unknown, deregistered, searching, home,
    /// roaming, partner, denied).
    #[zbus(property)]
    fn registration_state(&self) -> String {
        self.view().registration_state
    }

    /// The registered provider's MCC+MNC.
    #[zbus(property)]
    fn provider_id(&self) -> String {
        self.view().provider_id
    }

    /// The registered provider's name.
    #[zbus(property)]
    fn provider_name(&self) -> String {
        self.view().provider_name
    }

    /// Whether registered as roaming (or partner).
    #[zbus(property)]
    fn roaming(&self) -> bool {
        self.view().roaming
    }

    /// The packet service state (unknown, attaching, attached, detaching,
    /// detached).
    #[zbus(property)]
    fn packet_service(&self) -> String {
        self.view().packet_service
    }

    /// SIGNAL_STATE RSSI code (0–31, 99 unknown).
    #[zbus(property)]
    fn rssi(&self) -> u32 {
        self.view().rssi
    }

    /// SIGNAL_STATE error rate code (0–7, 99 unknown).
    #[zbus(property)]
    fn error_rate(&self) -> u32 {
        self.view().error_rate
    }

    /// The MBIM extensions version agreed with the function
    /// (MBIM_CID_VERSION): "1.0" (plain MBIM), "2.0", "3.0". It picks the
    /// layouts that carry DataSubclass, Signal, Pcscf and PcoDns.
    #[zbus(property)]
    fn mbimex_version(&self) -> String {
        self.view().mbimex_version
    }

    /// The data class in use, by libmbim nickname: e.g. lte, 5g-nsa
    /// (E-UTRA-NR dual connectivity), 5g-sa; empty when not attached.
    #[zbus(property)]
    fn data_class(&self) -> Vec<String> {
        self.view().data_class
    }

    /// How 5G is reached (MBIMEx 3.0): 5g-endc (NSA through LTE), 5g-nr
    /// (SA), 5g-nedc, 5g-elte, 5g-ngendc; empty otherwise.
    #[zbus(property)]
    fn data_subclass(&self) -> Vec<String> {
        self.view().data_subclass
    }

    /// Signal per radio technology (MBIMEx 2.0): its nickname (lte,
    /// 5g-nsa, 5g-sa), RSRP in dBm and SNR in dB, NaN when unknown; empty
    /// on an MBIM 1.0 function (Rssi then says all).
    #[zbus(property)]
    fn signal(&self) -> Vec<(String, f64, f64)> {
        self.view().signal.0
    }

    /// The network's cause of the last refusal (CONNECT, registration) by
    /// libmbim nickname, e.g. missing-or-unknown-apn; empty since the last
    /// success.
    #[zbus(property)]
    fn network_error(&self) -> String {
        self.view().network_error
    }

    /// DNS servers the network's PCO gave the session (MBIMEx 3.0 CONNECT);
    /// empty without.
    #[zbus(property)]
    fn pco_dns(&self) -> Vec<String> {
        self.view().pco_dns
    }

    /// P-CSCF servers (IMS) the network's PCO gave the session (MBIMEx 3.0
    /// CONNECT); empty without.
    #[zbus(property)]
    fn pcscf(&self) -> Vec<String> {
        self.view().pcscf
    }

    /// The PDN sessions: session 0 (the executor's own, once a profile was
    /// tried) and the further sessions of its profile
    /// (`[[profiles.sessions]]`), each as (session id, name, context type,
    /// APN, state, reason, network device, addresses). State: connected,
    /// connecting, waiting-to-reconnect, disconnecting, disconnected, or
    /// unsupported (beyond the modem's MaxSessions, never tried); reason
    /// says why it waits, or, for a connected further session whose device
    /// is partly configured, "partly configured: " and the parts not
    /// applied (retried while the cause may pass, as session 0's in
    /// NetdevParts); "" otherwise; network device "" while it has none; addresses as a.b.c.d/n and IPv6 prefix notation.
    #[zbus(property)]
    fn sessions(&self) -> Vec<super::view::SessionEntry> {
        self.view().sessions
    }

    /// The slot mapped to this executor (-1 unknown).
    #[zbus(property)]
    fn slot(&self) -> i32 {
        self.view().slot
    }

    /// The profile of the current (or last attempted) connection.
    #[zbus(property)]
    fn profile(&self) -> String {
        self.view().profile
    }

    /// The APN of the current (or last) connection ("" is the network's
    /// default APN).
    #[zbus(property)]
    fn apn(&self) -> String {
        self.view().apn
    }

    /// Where that APN came from: profile (a configured profile or
    /// Connect's overrides), provisioned (the modem's provisioned
    /// contexts), provider-database (mobile-broadband-provider-info),
    /// network-default (the empty APN); empty before the first connection.
    #[zbus(property)]
    fn apn_source(&self) -> String {
        self.view().apn_source
    }

    /// The LTE attach APN mbimd set in the modem (LTE_ATTACH_CONFIGURATION);
    /// empty when it set none.
    #[zbus(property)]
    fn attach_apn(&self) -> String {
        self.view().attach_apn
    }

    /// Why it was set: "named by the profile", or "the network refused the
    /// attach: CAUSE" (the registration or attach refused with a cause
    /// asking for another attach APN, e.g. missing-or-unknown-apn).
    #[zbus(property)]
    fn attach_apn_reason(&self) -> String {
        self.view().attach_apn_reason
    }

    /// The network device while connected (empty otherwise).
    #[zbus(property)]
    fn netdev(&self) -> String {
        self.view().netdev
    }

    /// How mbimd reaches the function: usbfs (its own USB driver and data
    /// path through a TUN device), kernel (a kernel driver's character
    /// device, cdc-wdm or WWAN, and its network device), simulated.
    #[zbus(property)]
    fn transport(&self) -> String {
        self.view().transport
    }

    /// The FCC lock as far as seen: empty (none seen), locked, "unlocked
    /// by PROCEDURE" (quectel-radio-state, intel-mutual-authentication,
    /// "hook PATH"), or "unlock failed: WHY".
    #[zbus(property)]
    fn fcc_lock(&self) -> String {
        self.view().fcc_lock
    }

    /// How the network device's configuration went: none (no device: not
    /// connected), configured (every part applied), partial (some part
    /// refused or failed; NetdevParts says which), failed (nothing applied,
    /// or the device could not be created).
    #[zbus(property)]
    fn netdev_state(&self) -> String {
        self.view().netdev_state
    }

    /// Each part of the device's configuration: (part, outcome, detail),
    /// outcome one of applied, refused (what the network handed out is not
    /// assignable), failed, retrying (failed for a reason that may pass;
    /// applied again after a growing pause); detail says why.
    #[zbus(property)]
    fn netdev_parts(&self) -> Vec<(String, String, String)> {
        self.view().netdev_parts
    }

    /// IPv4 addresses with prefix length (a.b.c.d/n) while connected.
    #[zbus(property)]
    fn ipv4_addresses(&self) -> Vec<String> {
        self.view().ipv4_addresses
    }

    /// The IPv4 gateway (empty if none).
    #[zbus(property)]
    fn ipv4_gateway(&self) -> String {
        self.view().ipv4_gateway
    }

    /// IPv6 addresses with prefix length while connected.
    #[zbus(property)]
    fn ipv6_addresses(&self) -> Vec<String> {
        self.view().ipv6_addresses
    }

    /// The IPv6 gateway (empty if none).
    #[zbus(property)]
    fn ipv6_gateway(&self) -> String {
        self.view().ipv6_gateway
    }

    /// DNS servers (IPv4 first, then IPv6).
    #[zbus(property)]
    fn dns(&self) -> Vec<String> {
        self.view().dns
    }

    /// The MTU the network gave (IPv4's, else IPv6's; 0 if none or not
    /// connected).
    #[zbus(property)]
    fn mtu(&self) -> u32 {
        self.view().mtu
    }

    /// IP packets received (refreshed about once a second).
    #[zbus(property)]
    fn rx_packets(&self) -> u64 {
        self.view().rx_packets
    }

    /// Bytes of IP packets received (refreshed about once a second).
    #[zbus(property)]
    fn rx_bytes(&self) -> u64 {
        self.view().rx_bytes
    }

    /// IP packets sent (refreshed about once a second).
    #[zbus(property)]
    fn tx_packets(&self) -> u64 {
        self.view().tx_packets
    }

    /// Bytes of IP packets sent (refreshed about once a second).
    #[zbus(property)]
    fn tx_bytes(&self) -> u64 {
        self.view().tx_bytes
    }

    /// Each PDN session's share of the counters above while session 0's
    /// link is up (refreshed with them): (session id, rx bytes, rx packets,
    /// tx bytes, tx packets), session 0 first, then every further session
    /// that had a device (its totals go on across its reconnections); empty
    /// while disconnected.
    #[zbus(property)]
    fn session_traffic(&self) -> Vec<super::view::TrafficEntry> {
        self.view().session_traffic
    }

    /// The SIM's ICCID: in full for root and mbimd's group, masked
    /// (issuer prefix kept) for everyone else. Changes are signalled as
    /// invalidated.
    #[zbus(property(emits_changed_signal = "invalidates"))]
    async fn iccid(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Option<Header<'_>>,
    ) -> String {
        let value = self.view().iccid;
        self.personal_value(value, connection, header.as_ref())
            .await
    }

    /// The SIM's IMSI: in full for root and mbimd's group, masked (MCC+MNC
    /// kept) for everyone else. Changes are signalled as invalidated.
    #[zbus(property(emits_changed_signal = "invalidates"))]
    async fn imsi(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Option<Header<'_>>,
    ) -> String {
        let value = self.view().imsi;
        self.personal_value(value, connection, header.as_ref())
            .await
    }

    /// Connects (again). overrides replace fields of the executor's
    /// profile: apn s, auth s (none, pap, chap, mschapv2), user s,
    /// password s, ip-type s (ipv4, ipv6, ipv4v6), route-metric u; empty
    /// means the configured profile (with none, the APN sources); the
    /// overrides apply to the configured profile, else to the settings
    /// last tried. While connected with other settings,
    /// the session is taken down and connected again with these; with the
    /// same settings nothing changes. Root or mbimd's group only.
    async fn connect(
        &self,
        overrides: HashMap<String, OwnedValue>,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "Connect", |this| {
            if overrides.is_empty() {
                return Ok(ExecutorCommand::Connect(None));
            }
            let config = this.shared.config();
            let snapshot = this.snapshot.borrow();
            let status = usize::try_from(this.index)
                .ok()
                .and_then(|index| snapshot.executors.get(index))
                .map(|executor| executor.status.clone())
                .unwrap_or_default();
            let base = overrides::base_profile(&config.profiles, &status);
            Ok(ExecutorCommand::Connect(Some(overrides::apply(
                base.as_ref(),
                &overrides,
            )?)))
        })
        .await
    }

    /// Disconnects and stays disconnected until Connect. Root or mbimd's
    /// group only.
    async fn disconnect(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "Disconnect", |_| {
            Ok(ExecutorCommand::Disconnect)
        })
        .await
    }

    /// Enters PIN1 (4 to 8 digits). Root or mbimd's group only.
    async fn enter_pin(
        &self,
        pin: String,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "EnterPin", |_| {
            Ok(ExecutorCommand::EnterPin(self::pin(
                pin, "EnterPin", "pin",
            )?))
        })
        .await
    }

    /// Enters PUK1 (8 digits) with a new PIN1 (4 to 8 digits). Root or
    /// mbimd's group only.
    async fn enter_puk(
        &self,
        puk: String,
        new_pin: String,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "EnterPuk", |_| {
            Ok(ExecutorCommand::EnterPuk {
                puk: self::puk(puk, "EnterPuk")?,
                new_pin: self::pin(new_pin, "EnterPuk", "new_pin")?,
            })
        })
        .await
    }

    /// Changes PIN1 from old to new (4 to 8 digits each). Root or mbimd's
    /// group only.
    async fn change_pin(
        &self,
        old: String,
        new: String,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "ChangePin", |_| {
            Ok(ExecutorCommand::ChangePin {
                old: self::pin(old, "ChangePin", "old")?,
                new: self::pin(new, "ChangePin", "new")?,
            })
        })
        .await
    }

    /// Enables or disables the PIN1 check at power-up, proven with pin (4 to
    /// 8 digits). Root or mbimd's group only.
    async fn set_pin_enabled(
        &self,
        pin: String,
        enabled: bool,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "SetPinEnabled", |_| {
            Ok(ExecutorCommand::SetPinEnabled {
                pin: self::pin(pin, "SetPinEnabled", "pin")?,
                enabled,
            })
        })
        .await
    }

    /// Switches the (software) radio on or off. Root or mbimd's group only.
    async fn set_radio(
        &self,
        on: bool,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.run(connection, &header, "SetRadio", |_| {
            Ok(ExecutorCommand::SetRadio(on))
        })
        .await
    }
}
