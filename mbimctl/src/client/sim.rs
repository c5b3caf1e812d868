//! The SIM and slot commands that are more than one call: `pin` (every
//! secret read before the first call) and `slot-policy` (shown, or set with
//! what was not given kept as it is). `slot-mapping` and `switch-slot` are
//! one call each, in the command table.

use super::bus::{executor_proxy, modem_proxy};
use super::output::{print, print_json};
use super::secret::SecretReader;
use super::target::{self, Kind};
use super::{value_name, ClientError, OnRemoval, PinAction};
use zbus::Connection;

pub(super) async fn pin(conn: &Connection, action: PinAction) -> Result<(), ClientError> {
    let (PinAction::Enter(args)
    | PinAction::Puk(args)
    | PinAction::Change(args)
    | PinAction::Enable(args)
    | PinAction::Disable(args)) = &action;
    let target = target::parse_kind(&args.executor, Kind::Executor)?;
    let mut reader = SecretReader::new(args.stdin);
    // Every secret is read before the first call: a half-read command must
    // not leave a PIN entered and the rest of it undone.
    match action {
        PinAction::Enter(_) => {
            let pin = reader.read("PIN")?;
            executor_proxy(conn, &target)
                .await?
                .enter_pin(pin.as_str())
                .await?;
        }
        PinAction::Puk(_) => {
            let puk = reader.read("PUK")?;
            let new_pin = reader.read_new("new PIN")?;
            executor_proxy(conn, &target)
                .await?
                .enter_puk(puk.as_str(), new_pin.as_str())
                .await?;
        }
        PinAction::Change(_) => {
            let old = reader.read("PIN")?;
            let new = reader.read_new("new PIN")?;
            executor_proxy(conn, &target)
                .await?
                .change_pin(old.as_str(), new.as_str())
                .await?;
        }
        PinAction::Enable(_) | PinAction::Disable(_) => {
            let enabled = matches!(action, PinAction::Enable(_));
            let pin = reader.read("PIN")?;
            executor_proxy(conn, &target)
                .await?
                .set_pin_enabled(pin.as_str(), enabled)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn slot_policy(
    conn: &Connection,
    modem: &str,
    on_removal: Option<OnRemoval>,
    auto_switch: Option<bool>,
    json: bool,
) -> Result<(), ClientError> {
    let target = target::parse_kind(modem, Kind::Modem)?;
    let proxy = modem_proxy(conn, &target).await?;
    if on_removal.is_some() || auto_switch.is_some() {
        // The method sets both; what was not given stays as it is.
        let on_removal = match on_removal {
            Some(on_removal) => value_name(on_removal),
            None => proxy.on_removal().await?,
        };
        let auto_switch = match auto_switch {
            Some(auto_switch) => auto_switch,
            None => proxy.auto_switch().await?,
        };
        proxy.set_slot_policy(&on_removal, auto_switch).await?;
        return Ok(());
    }
    let active = proxy.slot_policy_active().await?;
    let on_removal = proxy.on_removal().await?;
    let auto_switch = proxy.auto_switch().await?;
    if json {
        print_json(&serde_json::json!({
            "SlotPolicyActive": active,
            "OnRemoval": on_removal,
            "AutoSwitch": auto_switch,
        }))
    } else {
        print(&format!(
            "SlotPolicyActive  {active}\nOnRemoval         {on_removal}\nAutoSwitch        {auto_switch}\n"
        ))
    }
}
