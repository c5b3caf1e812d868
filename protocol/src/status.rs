//! Status and error codes that travel in control messages, and the command type.
//!
//! [`Status`] is MBIM_STATUS (MBIM 1.0 §9.4.5 and the SMS codes of §10.5.x,
//! plus Microsoft's extension codes), carried by OPEN_DONE, CLOSE_DONE and
//! COMMAND_DONE. [`ProtocolError`] is MBIM_PROTOCOL_ERROR (§9.4.7), carried by
//! HOST_ERROR and FUNCTION_ERROR. Nicknames follow libmbim's
//! (`mbim-errors.h`), so logs read the same as `mbimcli` output.

crate::mbim_enum! {
    /// MBIM_STATUS: the outcome of an OPEN, CLOSE or COMMAND.
    pub enum Status {
        /// The operation succeeded (libmbim calls this "none", the spec MBIM_STATUS_SUCCESS).
        Success = 0 => "success",
        /// The device is busy.
        Busy = 1 => "busy",
        /// The operation failed for an unspecified reason.
        Failure = 2 => "failure",
        /// No SIM is inserted.
        SimNotInserted = 3 => "sim-not-inserted",
        /// The SIM is unusable.
        BadSim = 4 => "bad-sim",
        /// A PIN must be entered first.
        PinRequired = 5 => "pin-required",
        /// The PIN is disabled.
        PinDisabled = 6 => "pin-disabled",
        /// The device is not registered to a network.
        NotRegistered = 7 => "not-registered",
        /// No network providers were found.
        ProvidersNotFound = 8 => "providers-not-found",
        /// The device does not support the operation.
        NoDeviceSupport = 9 => "no-device-support",
        /// The requested provider is not visible.
        ProviderNotVisible = 10 => "provider-not-visible",
        /// The requested data class is not available.
        DataClassNotAvailable = 11 => "data-class-not-available",
        /// The packet service is detached.
        PacketServiceDetached = 12 => "packet-service-detached",
        /// The maximum number of contexts is already active.
        MaxActivatedContexts = 13 => "max-activated-contexts",
        /// The device is not initialized yet.
        NotInitialized = 14 => "not-initialized",
        /// A voice call is in progress.
        VoiceCallInProgress = 15 => "voice-call-in-progress",
        /// The context is not activated.
        ContextNotActivated = 16 => "context-not-activated",
        /// The service is not activated.
        ServiceNotActivated = 17 => "service-not-activated",
        /// The access string (APN) is invalid.
        InvalidAccessString = 18 => "invalid-access-string",
        /// The user name or password is invalid.
        InvalidUserNamePwd = 19 => "invalid-user-name-pwd",
        /// The radio is powered off.
        RadioPowerOff = 20 => "radio-power-off",
        /// The request carried invalid parameters.
        InvalidParameters = 21 => "invalid-parameters",
        /// Reading failed.
        ReadFailure = 22 => "read-failure",
        /// Writing failed.
        WriteFailure = 23 => "write-failure",
        // 24 is reserved by the specification.
        /// There is no phonebook.
        NoPhonebook = 25 => "no-phonebook",
        /// A parameter is too long.
        ParameterTooLong = 26 => "parameter-too-long",
        /// The SIM toolkit is busy.
        StkBusy = 27 => "stk-busy",
        /// The operation is not allowed.
        OperationNotAllowed = 28 => "operation-not-allowed",
        /// A memory failure occurred.
        MemoryFailure = 29 => "memory-failure",
        /// The memory index is invalid.
        InvalidMemoryIndex = 30 => "invalid-memory-index",
        /// The memory is full.
        MemoryFull = 31 => "memory-full",
        /// The filter is not supported.
        FilterNotSupported = 32 => "filter-not-supported",
        /// The device service stream instance limit was reached.
        DssInstanceLimit = 33 => "dss-instance-limit",
        /// The device service operation is invalid.
        InvalidDeviceServiceOperation = 34 => "invalid-device-service-operation",
        /// The AUTN of an authentication challenge was incorrect.
        // libmbim's nickname is "auth-incorrect-auth", a typo of the spec's AUTN;
        // the spec name is used so the nickname says what it means.
        AuthIncorrectAutn = 35 => "auth-incorrect-autn",
        /// Authentication failed to synchronise.
        AuthSyncFailure = 36 => "auth-sync-failure",
        /// The AMF bit was not set in the authentication.
        AuthAmfNotSet = 37 => "auth-amf-not-set",
        /// The context type is not supported by the operation.
        ContextNotSupported = 38 => "context-not-supported",
        /// The SMSC address is unknown.
        SmsUnknownSmscAddress = 100 => "sms-unknown-smsc-address",
        /// Sending the SMS timed out in the network.
        SmsNetworkTimeout = 101 => "sms-network-timeout",
        /// The SMS language is not supported.
        SmsLangNotSupported = 102 => "sms-lang-not-supported",
        /// The SMS encoding is not supported.
        SmsEncodingNotSupported = 103 => "sms-encoding-not-supported",
        /// The SMS format is not supported.
        SmsFormatNotSupported = 104 => "sms-format-not-supported",
        /// Microsoft UICC low-level access: no logical channel is free.
        MsNoLogicalChannels = 0x8743_0001 => "ms-no-logical-channels",
        /// Microsoft UICC low-level access: selecting the application failed.
        MsSelectFailed = 0x8743_0002 => "ms-select-failed",
        /// Microsoft UICC low-level access: the logical channel is invalid.
        MsInvalidLogicalChannel = 0x8743_0003 => "ms-invalid-logical-channel",
        /// Microsoft extension: the signature is invalid.
        InvalidSignature = 0x9100_0001 => "invalid-signature",
        /// Microsoft extension: the IMEI is invalid.
        InvalidImei = 0x9100_0002 => "invalid-imei",
        /// Microsoft extension: the timestamp is invalid.
        InvalidTimestamp = 0x9100_0003 => "invalid-timestamp",
        /// Microsoft extension: the network list is too large.
        NetworkListTooLarge = 0x9100_0004 => "network-list-too-large",
        /// Microsoft extension: the signature algorithm is not supported.
        SignatureAlgorithmNotSupported = 0x9100_0005 => "signature-algorithm-not-supported",
        /// Microsoft extension: the feature is not supported.
        FeatureNotSupported = 0x9100_0006 => "feature-not-supported",
        /// Microsoft extension: the request could not be decoded or parsed.
        DecodeOrParsingError = 0x9100_0007 => "decode-or-parsing-error",
    }
}

impl Status {
    /// Whether this is [`Status::Success`].
    pub const fn is_success(self) -> bool {
        matches!(self, Status::Success)
    }
}

crate::mbim_enum! {
    /// MBIM_PROTOCOL_ERROR: why a HOST_ERROR or FUNCTION_ERROR was sent.
    pub enum ProtocolError {
        /// Not a valid error code (libmbim's "invalid"; 0 is not used by the spec).
        Invalid = 0 => "invalid",
        /// The next fragment did not arrive in time.
        TimeoutFragment = 1 => "timeout-fragment",
        /// A fragment arrived out of sequence.
        FragmentOutOfSequence = 2 => "fragment-out-of-sequence",
        /// A length field does not match the data.
        LengthMismatch = 3 => "length-mismatch",
        /// A transaction id was used twice.
        DuplicatedTid = 4 => "duplicated-tid",
        /// The function has not been opened.
        NotOpened = 5 => "not-opened",
        /// An unspecified error (the spec's MBIM_ERROR_UNKNOWN; renamed because
        /// `Unknown(u32)` holds codes this declaration does not know).
        Unspecified = 6 => "unknown",
        /// The host cancels the operation.
        Cancel = 7 => "cancel",
        /// The function does not support the requested MaxControlTransfer.
        MaxTransfer = 8 => "max-transfer",
    }
}

crate::mbim_enum! {
    /// MBIM_COMMAND_TYPE: whether a COMMAND reads or writes.
    pub enum CommandType {
        /// Read the current value.
        Query = 0 => "query",
        /// Change the value.
        Set = 1 => "set",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_libmbim_and_extensions() {
        assert_eq!(Status::from(0), Status::Success);
        assert_eq!(Status::from(38), Status::ContextNotSupported);
        assert_eq!(Status::from(24), Status::Unknown(24));
        assert_eq!(Status::from(104), Status::SmsFormatNotSupported);
        assert_eq!(Status::MsInvalidLogicalChannel.value(), 0x8743_0003);
        assert_eq!(Status::from(0x9100_0007), Status::DecodeOrParsingError);
        assert_eq!(Status::SimNotInserted.to_string(), "sim-not-inserted");
        assert_eq!(Status::from(0xdead).to_string(), "unknown (0x0000dead)");
        assert!(Status::Success.is_success());
        assert!(!Status::Busy.is_success());
    }

    #[test]
    fn protocol_error_unknown_is_not_the_catch_all() {
        assert_eq!(ProtocolError::from(6), ProtocolError::Unspecified);
        assert_eq!(ProtocolError::Unspecified.name(), Some("unknown"));
        assert_eq!(ProtocolError::from(9), ProtocolError::Unknown(9));
        assert_eq!(ProtocolError::MaxTransfer.value(), 8);
        assert_eq!(CommandType::from(1), CommandType::Set);
    }

    #[test]
    fn nicknames_are_unique_and_round_trip() {
        for status in Status::ALL {
            let name = status.name().unwrap();
            assert_eq!(Status::from_name(name), Some(*status));
            assert_eq!(Status::from(status.value()), *status);
        }
        for error in ProtocolError::ALL {
            assert_eq!(
                ProtocolError::from_name(error.name().unwrap()),
                Some(*error)
            );
        }
    }
}
