//! The dual-SIM single-active slot policy, driven input by input with time
//! as an argument. Each case is a script of (seconds since start, input) and
//! the actions expected after each step.

use std::time::{Duration, Instant};

use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState::{
    self, Active, ActiveEsim, ActiveEsimNoProfiles, Empty, NotReady, Off, OffEmpty, Undetermined,
};
use mbim_protocol::status::Status;
use mbimd::policy::{
    FailureReason, ModemId, OnRemoval, PolicyAction, PolicyInput, SlotKind, SlotPolicy,
    SlotPolicyConfig, SlotStatus, SwitchReason, BUSY_RETRY_FALLBACK, SWITCH_SETTLE,
};

const PHYSICAL: u32 = 0;
const EMBEDDED: u32 = 1;

fn modem() -> ModemId {
    ModemId::new("2c7c:0125:ABC")
}

fn seen(physical: UiccSlotState, selected: u32, remembered: Option<u32>) -> PolicyInput {
    PolicyInput::ModemSeen {
        modem_id: modem(),
        slots: vec![
            SlotStatus {
                index: PHYSICAL,
                kind: SlotKind::Physical,
                state: physical,
            },
            SlotStatus {
                index: EMBEDDED,
                kind: SlotKind::Embedded,
                state: ActiveEsim,
            },
        ],
        mapping: vec![selected],
        remembered,
    }
}

fn slot(slot: u32, state: UiccSlotState) -> PolicyInput {
    PolicyInput::SlotInfo { slot, state }
}

fn physical(state: UiccSlotState) -> PolicyInput {
    slot(PHYSICAL, state)
}

fn result(status: Status, selected: u32) -> PolicyInput {
    PolicyInput::MappingResult {
        status,
        mapping: Some(vec![selected]),
    }
}

fn set(to: u32) -> PolicyAction {
    PolicyAction::SetSlotMapping(vec![to])
}

/// What a confirmed switch gives: a wake-up at the end of its settle
/// window, the switch, and the choice to remember.
fn switched(from: u32, to: u32, reason: SwitchReason) -> Vec<PolicyAction> {
    vec![
        PolicyAction::RetryAfter(SWITCH_SETTLE),
        PolicyAction::SlotSwitched { from, to, reason },
        PolicyAction::Remember {
            modem_id: modem(),
            slot: to,
        },
    ]
}

fn suggested(from: u32, to: u32, reason: SwitchReason) -> PolicyAction {
    PolicyAction::SlotSwitchSuggested { from, to, reason }
}

fn remember(slot: u32) -> PolicyAction {
    PolicyAction::Remember {
        modem_id: modem(),
        slot,
    }
}

fn config(on_removal: OnRemoval, auto_switch: bool) -> SlotPolicyConfig {
    SlotPolicyConfig {
        on_removal,
        auto_switch,
    }
}

type Step = (u64, PolicyInput, Vec<PolicyAction>);

/// Runs a script; panics naming the case and step that went otherwise.
fn run(name: &str, config: SlotPolicyConfig, steps: Vec<Step>) -> SlotPolicy {
    let start = Instant::now();
    let mut policy = SlotPolicy::new(config);
    for (number, (seconds, input, expected)) in steps.into_iter().enumerate() {
        let now = start + Duration::from_secs(seconds);
        let described = format!("{input:?}");
        let actions = policy.handle(now, input);
        assert_eq!(
            actions, expected,
            "case {name:?}, step {number} at {seconds}s: {described}"
        );
    }
    policy
}

/// The modem seen on the embedded slot with the physical slot empty (no
/// switch needed), then settled.
fn on_embedded(physical_state: UiccSlotState) -> Vec<Step> {
    vec![(
        0,
        seen(physical_state, EMBEDDED, None),
        vec![remember(EMBEDDED)],
    )]
}

/// The modem seen on the physical slot with a SIM in it.
fn on_physical() -> Vec<Step> {
    vec![(0, seen(Active, PHYSICAL, None), vec![remember(PHYSICAL)])]
}

fn script(prefix: Vec<Step>, rest: Vec<Step>) -> Vec<Step> {
    prefix.into_iter().chain(rest).collect()
}

#[test]
fn first_sight() {
    let default = SlotPolicyConfig::default();
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "a SIM in the physical slot, embedded mapped: switch to physical",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (
                    1,
                    result(Status::Success, PHYSICAL),
                    switched(EMBEDDED, PHYSICAL, SwitchReason::FirstSight),
                ),
            ],
        ),
        (
            "a not-yet-ready card counts as a SIM",
            vec![(0, seen(NotReady, EMBEDDED, None), vec![set(PHYSICAL)])],
        ),
        (
            "an eSIM card in the physical slot counts as a SIM",
            vec![(
                0,
                seen(ActiveEsimNoProfiles, EMBEDDED, None),
                vec![set(PHYSICAL)],
            )],
        ),
        (
            "physical empty, physical mapped: switch to embedded",
            vec![
                (0, seen(Empty, PHYSICAL, None), vec![set(EMBEDDED)]),
                (
                    1,
                    result(Status::Success, EMBEDDED),
                    switched(PHYSICAL, EMBEDDED, SwitchReason::FirstSight),
                ),
            ],
        ),
        (
            "physical off and empty, embedded mapped: keep it and remember it",
            vec![(0, seen(OffEmpty, EMBEDDED, None), vec![remember(EMBEDDED)])],
        ),
        (
            "a SIM in the physical slot already mapped: remember it",
            vec![(0, seen(Active, PHYSICAL, None), vec![remember(PHYSICAL)])],
        ),
        (
            "physical undetermined: wait for its state, then decide",
            vec![
                (0, seen(Undetermined, EMBEDDED, None), vec![]),
                (1, physical(Off), vec![]),
                (2, physical(Active), vec![set(PHYSICAL)]),
            ],
        ),
    ];
    for (name, steps) in cases {
        run(name, default, steps);
    }
}

#[test]
fn removal_from_the_selected_physical_slot() {
    let removed = |to| suggested(PHYSICAL, to, SwitchReason::SimRemoved);
    let cases: Vec<(&str, OnRemoval, UiccSlotState, UiccSlotState, Vec<Step>)> = vec![
        (
            "suggest",
            OnRemoval::Suggest,
            Active,
            Empty,
            vec![
                (100, physical(Empty), vec![removed(EMBEDDED)]),
                (
                    130,
                    PolicyInput::SwitchToSlot { slot: EMBEDDED },
                    vec![set(EMBEDDED)],
                ),
                (
                    131,
                    result(Status::Success, EMBEDDED),
                    switched(PHYSICAL, EMBEDDED, SwitchReason::User),
                ),
            ],
        ),
        (
            "switch",
            OnRemoval::Switch,
            Active,
            Empty,
            vec![
                (100, physical(Empty), vec![set(EMBEDDED)]),
                (
                    101,
                    result(Status::Success, EMBEDDED),
                    switched(PHYSICAL, EMBEDDED, SwitchReason::SimRemoved),
                ),
            ],
        ),
        (
            "stay",
            OnRemoval::Stay,
            Active,
            Empty,
            vec![(100, physical(Empty), vec![])],
        ),
        (
            "suggest, removable eSIM card",
            OnRemoval::Suggest,
            ActiveEsim,
            OffEmpty,
            vec![(100, physical(OffEmpty), vec![removed(EMBEDDED)])],
        ),
        (
            "switch, removable eSIM card without profiles",
            OnRemoval::Switch,
            ActiveEsimNoProfiles,
            OffEmpty,
            vec![(100, physical(OffEmpty), vec![set(EMBEDDED)])],
        ),
        (
            "not a removal by the tables: Active to OffEmpty",
            OnRemoval::Switch,
            Active,
            OffEmpty,
            vec![(100, physical(OffEmpty), vec![])],
        ),
    ];
    for (name, on_removal, before, _after, steps) in cases {
        let prefix = vec![(0, seen(before, PHYSICAL, None), vec![remember(PHYSICAL)])];
        run(name, config(on_removal, false), script(prefix, steps));
    }
    // A removal from the physical slot while the embedded one is selected
    // changes nothing, whatever the mode.
    for on_removal in [OnRemoval::Suggest, OnRemoval::Switch, OnRemoval::Stay] {
        run(
            "removal from the unselected slot",
            config(on_removal, false),
            script(
                vec![(
                    0,
                    seen(Active, EMBEDDED, Some(EMBEDDED)),
                    vec![remember(EMBEDDED)],
                )],
                vec![(100, physical(Empty), vec![])],
            ),
        );
    }
}

#[test]
fn insertion_while_the_embedded_slot_is_selected() {
    let cases: Vec<(&str, bool, UiccSlotState, UiccSlotState, Vec<PolicyAction>)> = vec![
        ("auto-switch on", true, Empty, Active, vec![set(PHYSICAL)]),
        (
            "auto-switch on, eSIM card",
            true,
            OffEmpty,
            ActiveEsim,
            vec![set(PHYSICAL)],
        ),
        (
            "auto-switch off",
            false,
            Empty,
            Active,
            vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
        ),
        (
            "auto-switch off, eSIM card without profiles",
            false,
            OffEmpty,
            ActiveEsimNoProfiles,
            vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
        ),
        (
            "not an insertion by the tables",
            true,
            Empty,
            ActiveEsim,
            vec![],
        ),
    ];
    for (name, auto_switch, before, after, expected) in cases {
        let steps = script(on_embedded(before), vec![(100, physical(after), expected)]);
        run(name, config(OnRemoval::Suggest, auto_switch), steps);
    }
    run(
        "auto-switch: the switch is reported once the device confirms it",
        config(OnRemoval::Suggest, true),
        script(
            on_embedded(Empty),
            vec![
                (100, physical(NotReady), vec![]),
                (101, physical(Active), vec![set(PHYSICAL)]),
                (
                    102,
                    result(Status::Success, PHYSICAL),
                    switched(EMBEDDED, PHYSICAL, SwitchReason::SimInserted),
                ),
            ],
        ),
    );
}

#[test]
fn transient_states_during_a_switch_are_ignored() {
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "while the SET is on the wire",
            script(
                on_physical(),
                vec![
                    (
                        100,
                        PolicyInput::SwitchToSlot { slot: EMBEDDED },
                        vec![set(EMBEDDED)],
                    ),
                    (100, physical(Off), vec![]),
                    (100, physical(Empty), vec![]),
                    (100, slot(EMBEDDED, NotReady), vec![]),
                    (
                        101,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::User),
                    ),
                    // The card comes back in sight as the slot powers up: the
                    // baseline moved to Empty during the switch, but the settle
                    // window keeps this from being an insertion.
                    (102, physical(Undetermined), vec![]),
                    (103, physical(Active), vec![]),
                ],
            ),
        ),
        (
            "just after it completed",
            script(
                on_embedded(Empty),
                vec![
                    (
                        100,
                        PolicyInput::SwitchToSlot { slot: PHYSICAL },
                        vec![set(PHYSICAL)],
                    ),
                    (
                        101,
                        result(Status::Success, PHYSICAL),
                        switched(EMBEDDED, PHYSICAL, SwitchReason::User),
                    ),
                    (102, physical(NotReady), vec![]),
                    (103, physical(Empty), vec![]),
                    (104, physical(Active), vec![]),
                ],
            ),
        ),
        (
            "Off, NotReady and Undetermined never make a transition",
            script(
                on_physical(),
                vec![
                    (100, physical(Off), vec![]),
                    (101, physical(NotReady), vec![]),
                    (102, physical(Undetermined), vec![]),
                    (103, physical(Active), vec![]),
                ],
            ),
        ),
    ];
    for (name, steps) in cases {
        run(name, config(OnRemoval::Switch, true), steps);
    }
}

#[test]
fn a_flapping_sim_does_not_make_the_modem_oscillate() {
    let steps = script(
        on_physical(),
        vec![
            (100, physical(Empty), vec![set(EMBEDDED)]),
            (
                101,
                result(Status::Success, EMBEDDED),
                switched(PHYSICAL, EMBEDDED, SwitchReason::SimRemoved),
            ),
            // Back in after the settle window but inside the hold-down: a
            // suggestion, not a switch back.
            (
                120,
                physical(Active),
                vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
            ),
            (121, physical(Empty), vec![]),
            (
                122,
                physical(Active),
                vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
            ),
            (123, physical(Empty), vec![]),
            // Once the hold-down is over, a real insertion switches again.
            (200, physical(Active), vec![set(PHYSICAL)]),
        ],
    );
    run("flapping", config(OnRemoval::Switch, true), steps);
}

/// What a BUSY answer to a mapping SET asks for.
fn busy() -> Vec<PolicyAction> {
    vec![
        PolicyAction::RetryOnNextNotification,
        PolicyAction::RetryAfter(BUSY_RETRY_FALLBACK),
    ]
}

#[test]
fn slot_mapping_set_results() {
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "BUSY, then success on the next notification",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (1, result(Status::Busy, EMBEDDED), busy()),
                (2, PolicyInput::Timer, vec![]),
                (3, PolicyInput::Notification, vec![set(PHYSICAL)]),
                (4, PolicyInput::Notification, vec![]),
                (
                    5,
                    result(Status::Success, PHYSICAL),
                    switched(EMBEDDED, PHYSICAL, SwitchReason::FirstSight),
                ),
            ],
        ),
        (
            "BUSY, and no notification: sent again after the fallback",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (1, result(Status::Busy, EMBEDDED), busy()),
                (10, PolicyInput::Timer, vec![]),
                (11, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (12, PolicyInput::Notification, vec![]),
                (
                    13,
                    result(Status::Success, PHYSICAL),
                    switched(EMBEDDED, PHYSICAL, SwitchReason::FirstSight),
                ),
            ],
        ),
        (
            "BUSY, and a slot notification is the hint",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (1, result(Status::Busy, EMBEDDED), busy()),
                (2, slot(EMBEDDED, ActiveEsim), vec![set(PHYSICAL)]),
            ],
        ),
        (
            "VOICE_CALL_IN_PROGRESS backs off, capped",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (
                    1,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(5))],
                ),
                (2, PolicyInput::Notification, vec![]),
                (6, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    7,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(10))],
                ),
                (17, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    18,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(20))],
                ),
                (38, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    39,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(40))],
                ),
                (79, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    80,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(80))],
                ),
                (160, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    161,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(120))],
                ),
                (281, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    282,
                    result(Status::VoiceCallInProgress, EMBEDDED),
                    vec![PolicyAction::RetryAfter(Duration::from_secs(120))],
                ),
                (402, PolicyInput::Timer, vec![set(PHYSICAL)]),
                (
                    403,
                    result(Status::Success, PHYSICAL),
                    switched(EMBEDDED, PHYSICAL, SwitchReason::FirstSight),
                ),
            ],
        ),
        (
            "INVALID_PARAMETERS is reported once, never retried",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (
                    1,
                    result(Status::InvalidParameters, EMBEDDED),
                    vec![PolicyAction::SlotSwitchFailed {
                        to: PHYSICAL,
                        reason: FailureReason::Refused(Status::InvalidParameters),
                    }],
                ),
                (2, PolicyInput::Notification, vec![]),
                (3, PolicyInput::Timer, vec![]),
                (4, slot(EMBEDDED, ActiveEsim), vec![]),
                (5, result(Status::InvalidParameters, EMBEDDED), vec![]),
            ],
        ),
        (
            "success whose mapping lacks the slot: the response is the truth",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (
                    1,
                    result(Status::Success, EMBEDDED),
                    vec![
                        PolicyAction::RetryAfter(SWITCH_SETTLE),
                        PolicyAction::SlotSwitchFailed {
                            to: PHYSICAL,
                            reason: FailureReason::NotApplied {
                                kept: Some(EMBEDDED),
                            },
                        },
                    ],
                ),
            ],
        ),
        (
            "a query showing the target while a retry waits completes the switch",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (1, result(Status::Busy, EMBEDDED), busy()),
                (
                    2,
                    PolicyInput::MappingReported {
                        mapping: vec![PHYSICAL],
                    },
                    // No SET of its own completed: no settle window to wake for.
                    vec![
                        PolicyAction::SlotSwitched {
                            from: EMBEDDED,
                            to: PHYSICAL,
                            reason: SwitchReason::FirstSight,
                        },
                        remember(PHYSICAL),
                    ],
                ),
                (3, PolicyInput::Notification, vec![]),
            ],
        ),
    ];
    for (name, steps) in cases {
        run(name, SlotPolicyConfig::default(), steps);
    }
}

#[test]
fn a_waiting_automatic_switch_is_withdrawn_when_its_cause_is_undone() {
    let withdrawn = |to| PolicyAction::SlotSwitchFailed {
        to,
        reason: FailureReason::Withdrawn,
    };
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "inserted, voice call, removed again",
            script(
                on_embedded(Empty),
                vec![
                    (100, physical(Active), vec![set(PHYSICAL)]),
                    (
                        101,
                        result(Status::VoiceCallInProgress, EMBEDDED),
                        vec![PolicyAction::RetryAfter(Duration::from_secs(5))],
                    ),
                    (103, physical(Empty), vec![withdrawn(PHYSICAL)]),
                    (106, PolicyInput::Timer, vec![]),
                ],
            ),
        ),
        (
            "removed, busy, inserted again",
            script(
                on_physical(),
                vec![
                    (100, physical(Empty), vec![set(EMBEDDED)]),
                    (101, result(Status::Busy, PHYSICAL), busy()),
                    (103, physical(Active), vec![withdrawn(EMBEDDED)]),
                    (104, PolicyInput::Notification, vec![]),
                ],
            ),
        ),
    ];
    for (name, steps) in cases {
        run(name, config(OnRemoval::Switch, true), steps);
    }
}

#[test]
fn the_mapping_view_follows_every_response_and_query() {
    let policy = run(
        "view",
        SlotPolicyConfig::default(),
        vec![
            (0, seen(Active, PHYSICAL, None), vec![remember(PHYSICAL)]),
            (
                1,
                PolicyInput::MappingReported {
                    mapping: vec![EMBEDDED],
                },
                vec![],
            ),
        ],
    );
    assert_eq!(policy.selected_slot(), Some(EMBEDDED));
    assert_eq!(policy.mapping(), &[EMBEDDED]);
    let policy = run(
        "refused, yet the response's mapping is taken",
        SlotPolicyConfig::default(),
        vec![
            (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
            (
                1,
                result(Status::Failure, EMBEDDED),
                vec![PolicyAction::SlotSwitchFailed {
                    to: PHYSICAL,
                    reason: FailureReason::Refused(Status::Failure),
                }],
            ),
        ],
    );
    assert_eq!(policy.selected_slot(), Some(EMBEDDED));
}

#[test]
fn a_remembered_choice_is_reapplied() {
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "the modem returns with another mapping",
            vec![
                (
                    0,
                    seen(Active, PHYSICAL, Some(EMBEDDED)),
                    vec![set(EMBEDDED)],
                ),
                (
                    1,
                    result(Status::Success, EMBEDDED),
                    switched(PHYSICAL, EMBEDDED, SwitchReason::Remembered),
                ),
            ],
        ),
        (
            "it wins over first sight even with the physical slot empty",
            vec![(
                0,
                seen(Empty, EMBEDDED, Some(PHYSICAL)),
                vec![set(PHYSICAL)],
            )],
        ),
        (
            "the modem returns with the same mapping",
            vec![(
                0,
                seen(Active, EMBEDDED, Some(EMBEDDED)),
                vec![remember(EMBEDDED)],
            )],
        ),
        (
            "a remembered slot the modem lacks falls back to first sight",
            vec![(0, seen(Active, EMBEDDED, Some(7)), vec![set(PHYSICAL)])],
        ),
        (
            "seen again after an unplug: what was known before is forgotten",
            vec![
                (0, seen(Active, EMBEDDED, None), vec![set(PHYSICAL)]),
                (1, result(Status::Busy, EMBEDDED), busy()),
                (
                    5,
                    seen(Active, EMBEDDED, Some(EMBEDDED)),
                    vec![remember(EMBEDDED)],
                ),
                (6, PolicyInput::Notification, vec![]),
            ],
        ),
    ];
    for (name, steps) in cases {
        run(name, SlotPolicyConfig::default(), steps);
    }
}

#[test]
fn the_users_switch_wins_over_the_automatic_rules() {
    let auto = config(OnRemoval::Switch, true);
    let cases: Vec<(&str, Vec<Step>)> =
        vec![
        (
            "the user leaves a physical SIM for the embedded slot; its presence does not pull back",
            script(
                on_physical(),
                vec![
                    (100, PolicyInput::SwitchToSlot { slot: EMBEDDED }, vec![set(EMBEDDED)]),
                    (
                        101,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::User),
                    ),
                    (120, physical(Active), vec![]),
                    // A reinsertion soon after is only suggested.
                    (121, physical(Empty), vec![]),
                    (
                        122,
                        physical(Active),
                        vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
                    ),
                ],
            ),
        ),
        (
            "asked for while an automatic SET is on the wire: sent after it",
            script(
                on_embedded(Empty),
                vec![
                    (100, physical(Active), vec![set(PHYSICAL)]),
                    (100, PolicyInput::SwitchToSlot { slot: EMBEDDED }, vec![]),
                    (
                        101,
                        result(Status::Success, PHYSICAL),
                        vec![
                            PolicyAction::RetryAfter(SWITCH_SETTLE),
                            PolicyAction::SlotSwitched {
                                from: EMBEDDED,
                                to: PHYSICAL,
                                reason: SwitchReason::SimInserted,
                            },
                            remember(PHYSICAL),
                            set(EMBEDDED),
                        ],
                    ),
                    (
                        102,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::User),
                    ),
                ],
            ),
        ),
        (
            "it replaces an automatic switch waiting for a voice call to end",
            script(
                on_embedded(Empty),
                vec![
                    (100, physical(Active), vec![set(PHYSICAL)]),
                    (
                        101,
                        result(Status::VoiceCallInProgress, EMBEDDED),
                        vec![PolicyAction::RetryAfter(Duration::from_secs(5))],
                    ),
                    (
                        102,
                        PolicyInput::SwitchToSlot { slot: EMBEDDED },
                        vec![remember(EMBEDDED)],
                    ),
                    (106, PolicyInput::Timer, vec![]),
                ],
            ),
        ),
        (
            "a slot the modem lacks is refused without a SET",
            script(
                on_physical(),
                vec![(
                    100,
                    PolicyInput::SwitchToSlot { slot: 5 },
                    vec![PolicyAction::SlotSwitchFailed {
                        to: 5,
                        reason: FailureReason::NoSuchSlot,
                    }],
                )],
            ),
        ),
    ];
    for (name, steps) in cases {
        run(name, auto, steps);
    }
}

#[test]
fn configuration_changes_at_run_time() {
    run(
        "auto-switch turned on before an insertion",
        SlotPolicyConfig::default(),
        script(
            on_embedded(Empty),
            vec![
                (
                    10,
                    PolicyInput::ConfigChanged(config(OnRemoval::Suggest, true)),
                    vec![],
                ),
                (100, physical(Active), vec![set(PHYSICAL)]),
            ],
        ),
    );
    run(
        "on-removal turned to stay",
        SlotPolicyConfig::default(),
        script(
            on_physical(),
            vec![
                (
                    10,
                    PolicyInput::ConfigChanged(config(OnRemoval::Stay, false)),
                    vec![],
                ),
                (100, physical(Empty), vec![]),
            ],
        ),
    );
}

#[test]
fn nothing_happens_before_the_modem_is_seen() {
    run(
        "unseen",
        SlotPolicyConfig::default(),
        vec![
            (0, physical(Active), vec![]),
            (0, PolicyInput::Notification, vec![]),
            (0, PolicyInput::Timer, vec![]),
            (0, result(Status::Success, PHYSICAL), vec![]),
            (
                0,
                PolicyInput::SwitchToSlot { slot: PHYSICAL },
                vec![PolicyAction::SlotSwitchFailed {
                    to: PHYSICAL,
                    reason: FailureReason::NoModem,
                }],
            ),
        ],
    );
}

/// A card change the settle window hid is acted on when the window is over:
/// the SIM taken out (the switch to the eSIM follows) and put straight back
/// is not lost, but compared with the state the SET was sent in; a card
/// that only looked gone while the modem switched away from it is nothing.
#[test]
fn a_card_change_during_the_settle_window_counts_once_it_is_over() {
    let cases: Vec<(&str, SlotPolicyConfig, Vec<Step>)> = vec![
        (
            "removed, switched away, put back at once: suggested after the window (hold-down)",
            config(OnRemoval::Switch, true),
            script(
                on_physical(),
                vec![
                    (100, physical(Empty), vec![set(EMBEDDED)]),
                    (
                        101,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::SimRemoved),
                    ),
                    (103, physical(Active), vec![]),
                    (
                        111,
                        PolicyInput::Timer,
                        vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
                    ),
                    (112, PolicyInput::Timer, vec![]),
                ],
            ),
        ),
        (
            "put back once the window and the hold-down are over: switched",
            config(OnRemoval::Switch, true),
            script(
                on_physical(),
                vec![
                    (100, physical(Empty), vec![set(EMBEDDED)]),
                    (
                        101,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::SimRemoved),
                    ),
                    (111, PolicyInput::Timer, vec![]),
                    (200, physical(Active), vec![set(PHYSICAL)]),
                ],
            ),
        ),
        (
            "the slot looked empty while the modem switched away from it: nothing",
            config(OnRemoval::Switch, true),
            script(
                on_physical(),
                vec![
                    (
                        100,
                        PolicyInput::SwitchToSlot { slot: EMBEDDED },
                        vec![set(EMBEDDED)],
                    ),
                    (100, physical(Empty), vec![]),
                    (
                        101,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::User),
                    ),
                    (103, physical(Active), vec![]),
                    (111, PolicyInput::Timer, vec![]),
                ],
            ),
        ),
        (
            "a timer before the window's end changes nothing",
            config(OnRemoval::Switch, true),
            script(
                on_physical(),
                vec![
                    (100, physical(Empty), vec![set(EMBEDDED)]),
                    (
                        101,
                        result(Status::Success, EMBEDDED),
                        switched(PHYSICAL, EMBEDDED, SwitchReason::SimRemoved),
                    ),
                    (103, physical(Active), vec![]),
                    (105, PolicyInput::Timer, vec![]),
                    (
                        111,
                        PolicyInput::Timer,
                        vec![suggested(EMBEDDED, PHYSICAL, SwitchReason::SimInserted)],
                    ),
                ],
            ),
        ),
    ];
    for (name, config, steps) in cases {
        run(name, config, steps);
    }
}
