// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";

/// @title IMeterReadings
/// @notice Signed smart-meter readings, verified on chain. A reading carries a meter's two
///         cumulative registers (imported Wh, OBIS 1.8.0; exported Wh, OBIS 2.8.0) at the end
///         of a settlement interval, signed (EIP-712) by the meter's registered signer key.
///         The energy of an interval is the difference to the meter's previous reading, booked
///         to the owner's position; the market retires the exported part when it settles the
///         interval (`IEnergyMarket.MemberSettled`). Nothing is minted per reading (issue 16):
///         verified production is the positions and `ReadingAccepted`, not a token balance.
/// @dev Invariants:
///      - per meter, accepted intervals strictly increase and both registers never decrease;
///      - a (meter, interval) is recorded at most once;
///      - per interval, the member positions are the sums of their meters' booked energy;
///      - no reading books more than one interval of its meter's max power
///        (`maxPowerW * intervalSeconds / 3600` Wh) to its interval, per register.
///      Starting registers: a meter starts from the registers it was registered with
///      (`ICommunityRegistry.registerMeter`) or that an operator set (`resetMeterRegisters`);
///      its first reading is checked like any other (never backwards, max power since then).
///      Lumping rule: a reading whose delta covers several intervals (after a gap: readings
///      held back, a suspension) books at most one interval's max power to its interval; the
///      excess is "unbooked": it is not traded on the market and not in the position, but carried in
///      `ReadingAccepted` so that bills settle it with the grid (import at the retail tariff,
///      export at the feed-in tariff of the reading's interval). A delta above max power x
///      the whole elapsed time is refused (`ImplausiblePower`), and so is a reading that would
///      take its member's position in the interval (summed over the member's meters) above
///      2^32 - 1 Wh (4.29 GWh) of import or export, what a position holds.
///      Time: interval `t` covers `[marketStart + t * intervalSeconds, marketStart + (t+1) * intervalSeconds)`.
interface IMeterReadings {
    /// @notice Why a reading was refused. A refused reading changes nothing.
    enum RejectReason {
        None,
        AlreadyRecorded, // this (meter, interval) is already on chain: a resubmission, not an error
        UnknownMeter, // no such meter in the registry
        MeterRetired, // the meter is retired
        OwnerNotActive, // the meter's owner is suspended, removed or migrated away
        BadSignature, // the signature does not recover to the meter's registered signer
        IntervalNotAfterLast, // the interval is not after the meter's last accepted one (or ended before its registration or register reset)
        IntervalNotEnded, // the interval has not ended yet (a reading from the future)
        IntervalClosed, // the interval's reading deadline passed or the market closed it
        RegisterWentBackwards, // a cumulative register is lower than the last accepted value
        ImplausiblePower // the energy since the last reading exceeds max power x elapsed time, or the member's position would exceed 2^32 - 1 Wh
    }

    /// @notice A reading as the oracle submits it.
    /// @param meterId registry id of the meter
    /// @param interval settlement interval whose end the registers describe
    /// @param importWhTotal cumulative imported Wh (OBIS 1.8.0)
    /// @param exportWhTotal cumulative exported Wh (OBIS 2.8.0)
    /// @param r the `r` of the meter signer's EIP-712 signature of
    ///        `Reading(meterId,interval,importWhTotal,exportWhTotal)`
    /// @param vs the signature's `s` with its y parity in the top bit (the compact form of
    ///        EIP-2098: `vs = (v - 27) << 255 | s`); an `s` in the upper half of the curve order
    ///        (the malleable twin) is refused, so every reading has one signature
    /// @dev A static struct (no `bytes`): a batch is decoded without per-reading offsets, and
    ///      64 bytes of signature cost less calldata than a 65-byte `bytes` (issue 16).
    struct SignedReading {
        bytes32 meterId;
        uint32 interval;
        uint64 importWhTotal;
        uint64 exportWhTotal;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice Where a meter stands: the registers the next reading is measured from.
    /// @param lastInterval the last accepted interval (meaningful only when `hasReading`)
    /// @param importWhTotal imported-Wh register of the last reading, or of the registration / reset
    /// @param exportWhTotal exported-Wh register of the last reading, or of the registration / reset
    /// @param hasReading whether a reading was accepted since the registration or the last reset
    /// @param nextInterval the first interval a reading may be for
    struct MeterState {
        uint32 lastInterval;
        uint64 importWhTotal;
        uint64 exportWhTotal;
        bool hasReading;
        uint32 nextInterval;
    }

    /// @notice A member's metered energy in one interval, summed over its meters.
    struct Position {
        uint64 importWh;
        uint64 exportWh;
    }

    /// @notice A reading was accepted. The registers moved by `importWh + unbookedImportWh`
    ///         and `exportWh + unbookedExportWh` since the meter's previous reading (or its
    ///         registration / reset).
    /// @param memberIndex the position index of the member the energy is booked to (the owner's
    ///        member key: `memberKeyAt(memberIndex)`, also in `MemberIndexAssigned`); the meter's
    ///        owner at the time is the registry's (`MeterRegistered`, `MeterOwnerChanged`)
    /// @param importWh imported Wh booked to `interval` (the market position)
    /// @param exportWh exported Wh booked to `interval` (the market position; retired at settlement)
    /// @param unbookedImportWh imported Wh beyond one interval's max power: bought from the grid
    ///        at the retail tariff, never traded on the market
    /// @param unbookedExportWh exported Wh beyond one interval's max power: sold to the grid at
    ///        the feed-in tariff, never traded on the market
    /// @param r the meter signer's EIP-712 signature of the reading (`READING_TYPE`), as submitted:
    ///        `r` and the compact `vs` (EIP-2098; `v = 27 + (vs >> 255)`, `s = vs & (2^255 - 1)`)
    event ReadingAccepted(
        bytes32 indexed meterId,
        uint32 indexed interval,
        uint32 indexed memberIndex,
        uint64 importWhTotal,
        uint64 exportWhTotal,
        uint64 importWh,
        uint64 exportWh,
        uint64 unbookedImportWh,
        uint64 unbookedExportWh,
        bytes32 r,
        bytes32 vs
    );

    /// @notice A reading was refused; the rest of the batch goes on.
    event ReadingRejected(bytes32 indexed meterId, uint32 indexed interval, RejectReason reason);

    /// @notice The reading deadline (seconds after an interval's end) changed.
    event ReadingDeadlineChanged(uint32 oldDeadlineSeconds, uint32 newDeadlineSeconds);

    /// @notice The market closed an interval for readings (it started clearing it).
    event IntervalClosed(uint32 indexed interval);

    /// @notice An operator set a meter's registers (meter replaced, register reset): the next
    ///         reading is measured from `importWhTotal` / `exportWhTotal` and must be for
    ///         `fromInterval` or later.
    event MeterRegistersReset(
        bytes32 indexed meterId,
        uint32 fromInterval,
        uint64 oldImportWhTotal,
        uint64 oldExportWhTotal,
        uint64 importWhTotal,
        uint64 exportWhTotal
    );

    /// @notice The registry's meter record of `meterId` was copied here (`syncMeter`): readings
    ///         of the meter are checked against these values from now on.
    /// @param key the owner's member key (`ICommunityRegistry.memberKeyOf(owner)`), which its
    ///        positions are booked to
    /// @param ownerActive whether the owner is an active member (else readings are refused,
    ///        `OwnerNotActive`)
    event MeterSynced(
        bytes32 indexed meterId,
        address indexed owner,
        address key,
        address signer,
        uint32 maxPowerW,
        ICommunityRegistry.MeterStatus status,
        bool ownerActive
    );

    /// @notice Member `key` got the position index `index` (1-based, dense, once for good): its
    ///         interval positions share a storage slot with three neighbours' (issue 16), and
    ///         `ReadingAccepted` names it by this index.
    event MemberIndexAssigned(address indexed key, uint32 indexed index);

    /// @notice The interval length is not usable (zero).
    error ReadingsInvalidIntervalSeconds(uint32 intervalSeconds);
    /// @notice A reading deadline of `deadlineSeconds` is outside `[minSeconds, maxSeconds]`.
    error ReadingsDeadlineOutOfRange(uint32 deadlineSeconds, uint32 minSeconds, uint32 maxSeconds);
    /// @notice The meter `meterId` is unknown or retired: its registers cannot be reset.
    error ReadingsMeterNotActive(bytes32 meterId);
    /// @notice `syncMeter` was called while this contract is not the registry's meter hook
    ///         (`hook` is): a copy nobody keeps current would be taken for the truth.
    error ReadingsNotMeterHook(address hook);
    /// @notice `syncMeter` of a meter the registry does not know.
    error ReadingsMeterUnknown(bytes32 meterId);
    /// @notice The interval `interval` is not ready for the market: not ended, or neither every
    ///         active meter reported (`reported` of `expected`) nor the deadline passed.
    error ReadingsIntervalNotReady(uint32 interval, uint256 reported, uint256 expected);

    /// @notice Verify and record a batch of readings. Requires `ORACLE_ROLE`.
    /// @dev A bad reading emits `ReadingRejected` and does not revert the batch.
    /// @return accepted how many readings of the batch were accepted
    function submitReadings(SignedReading[] calldata batch) external returns (uint256 accepted);

    /// @notice Set how long after an interval's end readings for it are still accepted.
    ///         Requires `OPERATOR_ROLE`.
    /// @dev Bounded to `[MIN_READING_DEADLINE_SECONDS, MAX_READING_DEADLINE_SECONDS]` (60 s to
    ///      30 days), else `ReadingsDeadlineOutOfRange`: 0 would close every interval at its
    ///      end, and a huge value would let one silent meter hold the market up for ever.
    function setReadingDeadlineSeconds(uint32 deadlineSeconds) external;

    /// @notice Set the registers the next reading of `meterId` is measured from, after the
    ///         meter was replaced or its registers were reset. Requires `OPERATOR_ROLE`.
    /// @dev Takes effect from the current interval: a reading for an interval that ended
    ///      before the reset is refused (`IntervalNotAfterLast`), so submit pending readings
    ///      of the old meter first. The next reading is bounded by max power x the time since
    ///      the start of the current interval. Reverts with `ReadingsMeterNotActive` for an
    ///      unknown or retired meter. Emits `MeterRegistersReset`.
    function resetMeterRegisters(bytes32 meterId, uint64 importWhTotal, uint64 exportWhTotal) external;

    /// @notice Close `interval` for readings. Requires `SYSTEM_ROLE` (the market, when it starts
    ///         clearing); reverts with `ReadingsIntervalNotReady` unless the interval is ready.
    function closeInterval(uint32 interval) external;

    /// @notice The EIP-712 type of a reading, as signed by a meter signer:
    ///         `Reading(bytes32 meterId,uint32 interval,uint64 importWhTotal,uint64 exportWhTotal)`.
    function READING_TYPE() external view returns (string memory);

    /// @notice The smallest reading deadline `setReadingDeadlineSeconds` accepts (60 s).
    function MIN_READING_DEADLINE_SECONDS() external view returns (uint32);

    /// @notice The largest reading deadline `setReadingDeadlineSeconds` accepts (30 days).
    function MAX_READING_DEADLINE_SECONDS() external view returns (uint32);

    /// @notice Unix time of the start of interval 0.
    function marketStart() external view returns (uint64);

    /// @notice Length of a settlement interval in seconds (default 900).
    function intervalSeconds() external view returns (uint32);

    /// @notice Seconds after an interval's end during which readings for it are accepted.
    function readingDeadlineSeconds() external view returns (uint32);

    /// @notice The interval that contains the current block's timestamp.
    function currentInterval() external view returns (uint32);

    /// @notice Whether the market may clear `interval`: it has ended, and every active meter
    ///         reported or the deadline passed (or it is already closed).
    function isReady(uint32 interval) external view returns (bool);

    /// @notice Whether `interval` is closed for readings.
    function isClosed(uint32 interval) external view returns (bool);

    /// @notice Number of readings accepted for `interval`.
    function reportedCount(uint32 interval) external view returns (uint256);

    /// @notice Where `meterId` stands: its last accepted reading, or the registers it was
    ///         registered with / reset to (all zero for an unknown meter).
    function meterState(bytes32 meterId) external view returns (MeterState memory);

    /// @notice Whether a reading of `meterId` for `interval` is recorded.
    function isRecorded(bytes32 meterId, uint32 interval) external view returns (bool);

    /// @notice The EIP-712 digest a meter signer signs for a reading.
    function readingDigest(
        bytes32 meterId,
        uint32 interval,
        uint64 importWhTotal,
        uint64 exportWhTotal
    ) external view returns (bytes32);

    /// @notice Number of members with non-zero metered energy in `interval`. The members
    ///         themselves are the member keys (`memberKeyAt`) of the member indexes in that
    ///         interval's `ReadingAccepted` events with energy (kept out of storage to save gas).
    function participantCount(uint32 interval) external view returns (uint256);

    /// @notice Metered energy of the member with key `member` (`ICommunityRegistry.memberKeyOf`,
    ///         the member's first wallet) booked to `interval`, summed over its meters: one position per
    ///         member, whatever wallet migrations happen between the interval's readings.
    function positionOf(uint32 interval, address member) external view returns (Position memory);

    /// @notice `positionOf` by the member's position index (`memberIndexOf`): what the market
    ///         asks at collection, with the index it keeps in its own member record (one cold
    ///         read less per participant). Zero for index 0.
    function positionAt(uint32 interval, uint32 index) external view returns (Position memory);

    /// @notice The position index of the member with key `member` (1-based; 0 if it has none
    ///         yet): assigned when its first meter is synced (or, for a meter never synced, at
    ///         its first accepted reading). Positions of four members share a storage slot.
    function memberIndexOf(address member) external view returns (uint32);

    /// @notice The member key with position index `index` (`memberIndexOf`'s inverse; zero for
    ///         an index not assigned): whose energy a `ReadingAccepted` with that index booked.
    function memberKeyAt(uint32 index) external view returns (address);
}
