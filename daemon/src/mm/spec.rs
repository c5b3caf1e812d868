//! The ModemManager interfaces mbimd serves, declared as data: each
//! method with its arguments, each property with its D-Bus type, each
//! signal. One declaration per interface drives the introspection XML, the
//! check of every call's argument types, and the tests that each property
//! is served with its declared type (names and types are ModemManager's
//! introspection XML, version 1.20: what Debian 12's NetworkManager and
//! mmcli are built against).

/// One argument: name and D-Bus signature.
pub(crate) type Arg = (&'static str, &'static str);

/// One method.
#[derive(Debug)]
pub(crate) struct Method {
    pub(crate) name: &'static str,
    pub(crate) inputs: &'static [Arg],
    pub(crate) outputs: &'static [Arg],
}

/// One signal.
#[derive(Debug)]
pub(crate) struct Signal {
    pub(crate) name: &'static str,
    pub(crate) args: &'static [Arg],
}

/// One interface.
#[derive(Debug)]
pub(crate) struct Interface {
    pub(crate) name: &'static str,
    pub(crate) methods: &'static [Method],
    /// Name and signature; all read-only.
    pub(crate) properties: &'static [Arg],
    pub(crate) signals: &'static [Signal],
}

impl Interface {
    /// The method called `name`.
    pub(crate) fn method(&self, name: &str) -> Option<&'static Method> {
        // Every declaration is a `static`, so its methods are too.
        let methods: &'static [Method] = self.methods;
        methods.iter().find(|method| method.name == name)
    }

    /// The signature of property `name`.
    pub(crate) fn property(&self, name: &str) -> Option<&'static str> {
        self.properties
            .iter()
            .find(|(property, _)| *property == name)
            .map(|(_, signature)| *signature)
    }
}

impl Method {
    /// The signature its arguments make together (what a call's body
    /// must have).
    pub(crate) fn input_signature(&self) -> String {
        self.inputs
            .iter()
            .map(|(_, signature)| *signature)
            .collect()
    }
}

const fn method(name: &'static str, inputs: &'static [Arg], outputs: &'static [Arg]) -> Method {
    Method {
        name,
        inputs,
        outputs,
    }
}

/// `org.freedesktop.ModemManager1` at `/org/freedesktop/ModemManager1`.
pub(crate) static MANAGER: Interface = Interface {
    name: "org.freedesktop.ModemManager1",
    methods: &[
        method("ScanDevices", &[], &[]),
        method("SetLogging", &[("level", "s")], &[]),
        method("ReportKernelEvent", &[("properties", "a{sv}")], &[]),
        method("InhibitDevice", &[("uid", "s"), ("inhibit", "b")], &[]),
    ],
    properties: &[("Version", "s")],
    signals: &[],
};

/// `org.freedesktop.ModemManager1.Modem`.
pub(crate) static MODEM: Interface = Interface {
    name: "org.freedesktop.ModemManager1.Modem",
    methods: &[
        method("Enable", &[("enable", "b")], &[]),
        method("ListBearers", &[], &[("bearers", "ao")]),
        method("CreateBearer", &[("properties", "a{sv}")], &[("path", "o")]),
        method("DeleteBearer", &[("bearer", "o")], &[]),
        method("Reset", &[], &[]),
        method("FactoryReset", &[("code", "s")], &[]),
        method("SetPowerState", &[("state", "u")], &[]),
        method("SetCurrentCapabilities", &[("capabilities", "u")], &[]),
        method("SetCurrentModes", &[("modes", "(uu)")], &[]),
        method("SetCurrentBands", &[("bands", "au")], &[]),
        method("SetPrimarySimSlot", &[("sim_slot", "u")], &[]),
        method("GetCellInfo", &[], &[("cell_info", "aa{sv}")]),
        method(
            "Command",
            &[("cmd", "s"), ("timeout", "u")],
            &[("response", "s")],
        ),
    ],
    properties: &[
        ("Sim", "o"),
        ("SimSlots", "ao"),
        ("PrimarySimSlot", "u"),
        ("Bearers", "ao"),
        ("SupportedCapabilities", "au"),
        ("CurrentCapabilities", "u"),
        ("MaxBearers", "u"),
        ("MaxActiveBearers", "u"),
        ("MaxActiveMultiplexedBearers", "u"),
        ("Manufacturer", "s"),
        ("Model", "s"),
        ("Revision", "s"),
        ("CarrierConfiguration", "s"),
        ("CarrierConfigurationRevision", "s"),
        ("HardwareRevision", "s"),
        ("DeviceIdentifier", "s"),
        ("Device", "s"),
        ("Drivers", "as"),
        ("Plugin", "s"),
        ("PrimaryPort", "s"),
        ("Ports", "a(su)"),
        ("EquipmentIdentifier", "s"),
        ("UnlockRequired", "u"),
        ("UnlockRetries", "a{uu}"),
        ("State", "i"),
        ("StateFailedReason", "u"),
        ("AccessTechnologies", "u"),
        ("SignalQuality", "(ub)"),
        ("OwnNumbers", "as"),
        ("PowerState", "u"),
        ("SupportedModes", "a(uu)"),
        ("CurrentModes", "(uu)"),
        ("SupportedBands", "au"),
        ("CurrentBands", "au"),
        ("SupportedIpFamilies", "u"),
    ],
    signals: &[Signal {
        name: "StateChanged",
        args: &[("old", "i"), ("new", "i"), ("reason", "u")],
    }],
};

/// `org.freedesktop.ModemManager1.Modem.Modem3gpp`.
pub(crate) static MODEM_3GPP: Interface = Interface {
    name: "org.freedesktop.ModemManager1.Modem.Modem3gpp",
    methods: &[
        method("Register", &[("operator_id", "s")], &[]),
        method("Scan", &[], &[("results", "aa{sv}")]),
        method("SetEpsUeModeOperation", &[("mode", "u")], &[]),
        method("SetInitialEpsBearerSettings", &[("settings", "a{sv}")], &[]),
        method(
            "SetNr5gRegistrationSettings",
            &[("properties", "a{sv}")],
            &[],
        ),
        method("DisableFacilityLock", &[("properties", "(us)")], &[]),
        method("SetPacketServiceState", &[("state", "u")], &[]),
    ],
    properties: &[
        ("Imei", "s"),
        ("RegistrationState", "u"),
        ("OperatorCode", "s"),
        ("OperatorName", "s"),
        ("EnabledFacilityLocks", "u"),
        ("SubscriptionState", "u"),
        ("EpsUeModeOperation", "u"),
        ("Pco", "a(ubay)"),
        ("InitialEpsBearer", "o"),
        ("InitialEpsBearerSettings", "a{sv}"),
        ("PacketServiceState", "u"),
        ("Nr5gRegistrationSettings", "a{sv}"),
    ],
    signals: &[],
};

/// `org.freedesktop.ModemManager1.Modem.Signal`.
pub(crate) static SIGNAL: Interface = Interface {
    name: "org.freedesktop.ModemManager1.Modem.Signal",
    methods: &[
        method("Setup", &[("rate", "u")], &[]),
        method("SetupThresholds", &[("settings", "a{sv}")], &[]),
    ],
    properties: &[
        ("Rate", "u"),
        ("RssiThreshold", "u"),
        ("ErrorRateThreshold", "b"),
        ("Cdma", "a{sv}"),
        ("Evdo", "a{sv}"),
        ("Gsm", "a{sv}"),
        ("Umts", "a{sv}"),
        ("Lte", "a{sv}"),
        ("Nr5g", "a{sv}"),
    ],
    signals: &[],
};

/// `org.freedesktop.ModemManager1.Modem.Simple`.
pub(crate) static SIMPLE: Interface = Interface {
    name: "org.freedesktop.ModemManager1.Modem.Simple",
    methods: &[
        method("Connect", &[("properties", "a{sv}")], &[("bearer", "o")]),
        method("Disconnect", &[("bearer", "o")], &[]),
        method("GetStatus", &[], &[("properties", "a{sv}")]),
    ],
    properties: &[],
    signals: &[],
};

/// `org.freedesktop.ModemManager1.Sim`.
pub(crate) static SIM: Interface = Interface {
    name: "org.freedesktop.ModemManager1.Sim",
    methods: &[
        method("SendPin", &[("pin", "s")], &[]),
        method("SendPuk", &[("puk", "s"), ("pin", "s")], &[]),
        method("EnablePin", &[("pin", "s"), ("enabled", "b")], &[]),
        method("ChangePin", &[("old_pin", "s"), ("new_pin", "s")], &[]),
        method(
            "SetPreferredNetworks",
            &[("preferred_networks", "a(su)")],
            &[],
        ),
    ],
    properties: &[
        ("Active", "b"),
        ("SimIdentifier", "s"),
        ("Imsi", "s"),
        ("Eid", "s"),
        ("OperatorIdentifier", "s"),
        ("OperatorName", "s"),
        ("EmergencyNumbers", "as"),
        ("PreferredNetworks", "a(su)"),
        ("Gid1", "ay"),
        ("Gid2", "ay"),
        ("SimType", "u"),
        ("EsimStatus", "u"),
        ("Removability", "u"),
    ],
    signals: &[],
};

/// `org.freedesktop.ModemManager1.Bearer`.
pub(crate) static BEARER: Interface = Interface {
    name: "org.freedesktop.ModemManager1.Bearer",
    methods: &[method("Connect", &[], &[]), method("Disconnect", &[], &[])],
    properties: &[
        ("Interface", "s"),
        ("Connected", "b"),
        ("ConnectionError", "(ss)"),
        ("Suspended", "b"),
        ("Multiplexed", "b"),
        ("Ip4Config", "a{sv}"),
        ("Ip6Config", "a{sv}"),
        ("Stats", "a{sv}"),
        ("ReloadStatsSupported", "b"),
        ("IpTimeout", "u"),
        ("BearerType", "u"),
        ("ProfileId", "i"),
        ("Properties", "a{sv}"),
    ],
    signals: &[],
};

/// The standard interfaces every object has, for introspection.
static STANDARD: &str = r#"  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml_data" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg name="machine_uuid" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="property_name" type="s" direction="in"/>
      <arg name="value" type="v" direction="out"/>
    </method>
    <method name="GetAll">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="properties" type="a{sv}" direction="out"/>
    </method>
    <method name="Set">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="property_name" type="s" direction="in"/>
      <arg name="value" type="v" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg name="interface_name" type="s"/>
      <arg name="changed_properties" type="a{sv}"/>
      <arg name="invalidated_properties" type="as"/>
    </signal>
  </interface>
"#;

/// `org.freedesktop.DBus.ObjectManager`, which the manager object has.
pub(crate) static OBJECT_MANAGER_XML: &str = r#"  <interface name="org.freedesktop.DBus.ObjectManager">
    <method name="GetManagedObjects">
      <arg name="objects" type="a{oa{sa{sv}}}" direction="out"/>
    </method>
    <signal name="InterfacesAdded">
      <arg name="object" type="o"/>
      <arg name="interfaces" type="a{sa{sv}}"/>
    </signal>
    <signal name="InterfacesRemoved">
      <arg name="object" type="o"/>
      <arg name="interfaces" type="as"/>
    </signal>
  </interface>
"#;

/// The introspection XML of a node with these interfaces (and, for the
/// manager, `extra`: the ObjectManager) and these child nodes.
pub(crate) fn introspect(interfaces: &[&Interface], extra: &str, children: &[String]) -> String {
    let mut xml = String::from(
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \
         \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n",
    );
    xml.push_str(STANDARD);
    xml.push_str(extra);
    for interface in interfaces {
        xml.push_str(&format!("  <interface name=\"{}\">\n", interface.name));
        for method in interface.methods {
            if method.inputs.is_empty() && method.outputs.is_empty() {
                xml.push_str(&format!("    <method name=\"{}\"/>\n", method.name));
                continue;
            }
            xml.push_str(&format!("    <method name=\"{}\">\n", method.name));
            for (direction, args) in [("in", method.inputs), ("out", method.outputs)] {
                for (name, signature) in args {
                    xml.push_str(&format!(
                        "      <arg name=\"{name}\" type=\"{signature}\" direction=\"{direction}\"/>\n"
                    ));
                }
            }
            xml.push_str("    </method>\n");
        }
        for signal in interface.signals {
            xml.push_str(&format!("    <signal name=\"{}\">\n", signal.name));
            for (name, signature) in signal.args {
                xml.push_str(&format!(
                    "      <arg name=\"{name}\" type=\"{signature}\"/>\n"
                ));
            }
            xml.push_str("    </signal>\n");
        }
        for (name, signature) in interface.properties {
            xml.push_str(&format!(
                "    <property name=\"{name}\" type=\"{signature}\" access=\"read\"/>\n"
            ));
        }
        xml.push_str("  </interface>\n");
    }
    for child in children {
        xml.push_str(&format!("  <node name=\"{child}\"/>\n"));
    }
    xml.push_str("</node>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signature_is_a_valid_single_type() {
        for interface in [
            &MANAGER,
            &MODEM,
            &MODEM_3GPP,
            &SIGNAL,
            &SIMPLE,
            &SIM,
            &BEARER,
        ] {
            let args = interface
                .methods
                .iter()
                .flat_map(|method| method.inputs.iter().chain(method.outputs))
                .chain(interface.properties)
                .chain(interface.signals.iter().flat_map(|signal| signal.args));
            for (name, signature) in args {
                let parsed = zbus::zvariant::Signature::try_from(*signature)
                    .unwrap_or_else(|error| panic!("{}.{name}: {error}", interface.name));
                assert_eq!(parsed.to_string(), *signature, "{}.{name}", interface.name);
            }
        }
    }

    #[test]
    fn introspection_lists_methods_properties_and_children() {
        let xml = introspect(&[&SIMPLE], "", &["0".to_owned()]);
        assert!(xml.contains("<interface name=\"org.freedesktop.ModemManager1.Modem.Simple\">"));
        assert!(xml.contains("<arg name=\"properties\" type=\"a{sv}\" direction=\"in\"/>"));
        assert!(xml.contains("<arg name=\"bearer\" type=\"o\" direction=\"out\"/>"));
        assert!(xml.contains("<node name=\"0\"/>"));
        assert_eq!(
            MODEM.method("SetPrimarySimSlot").unwrap().input_signature(),
            "u"
        );
        assert_eq!(MODEM.property("SignalQuality"), Some("(ub)"));
        assert_eq!(MODEM.property("Nope"), None);
    }
}
