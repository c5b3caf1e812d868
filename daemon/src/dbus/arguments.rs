//! The argument types a method takes, read from an interface's own
//! introspection XML (what zbus generates from the `#[interface]` code), so
//! a call with other types can be refused as InvalidArgs before zbus's
//! generated code answers it with its own error name.

/// The D-Bus signature of `method`'s in-arguments, concatenated ("" for a
/// method without arguments); `None` when the XML has no such method.
pub(crate) fn in_signature(xml: &str, method: &str) -> Option<String> {
    let opening = format!("<method name=\"{method}\"");
    let start = xml.find(&opening)? + opening.len();
    let rest = xml.get(start..)?;
    // `<method name="X"/>` has no arguments; otherwise they run to `</method>`.
    if rest.trim_start().starts_with("/>") {
        return Some(String::new());
    }
    let body = rest.get(..rest.find("</method>")?)?;
    let mut signature = String::new();
    for tag in body.split('<').filter(|tag| tag.starts_with("arg ")) {
        // An argument without a direction is an in-argument (D-Bus
        // introspection's default for methods).
        let direction = attribute(tag, "direction").unwrap_or("in");
        if direction == "in" {
            signature.push_str(attribute(tag, "type")?);
        }
    }
    Some(signature)
}

/// The value of `name="…"` in an XML tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let rest = tag.get(start..)?;
    rest.get(..rest.find('"')?)
}

#[cfg(test)]
mod tests {
    use super::in_signature;

    const XML: &str = r#"<interface name="dev.mbimd.Test1">
  <method name="Connect">
    <arg name="overrides" type="a{sv}" direction="in"/>
  </method>
  <method name="EnterPuk">
    <arg name="puk" type="s" direction="in"/>
    <arg name="new_pin" type="s" direction="in"/>
  </method>
  <method name="SetSlotMapping">
    <arg name="slots" type="au" direction="in"/>
    <arg name="mapping" type="au" direction="out"/>
  </method>
  <method name="Disconnect">
  </method>
  <method name="Reload"/>
  <property name="State" type="s" access="read"/>
</interface>"#;

    #[test]
    fn in_arguments_are_read_in_order_and_out_arguments_left_out() {
        assert_eq!(in_signature(XML, "Connect").as_deref(), Some("a{sv}"));
        assert_eq!(in_signature(XML, "EnterPuk").as_deref(), Some("ss"));
        assert_eq!(in_signature(XML, "SetSlotMapping").as_deref(), Some("au"));
        assert_eq!(in_signature(XML, "Disconnect").as_deref(), Some(""));
        assert_eq!(in_signature(XML, "Reload").as_deref(), Some(""));
        assert_eq!(in_signature(XML, "State"), None);
        assert_eq!(in_signature(XML, "Connec"), None);
    }
}
