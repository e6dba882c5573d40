// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMeterReadings
/// @notice Signed smart-meter readings, verified on chain. A reading carries a meter's two
///         cumulative registers (imported Wh, OBIS 1.8.0; exported Wh, OBIS 2.8.0) at the end
///         of a settlement interval, signed (EIP-712) by the meter's registered signer key.
///         The energy of an interval is the difference to the meter's previous reading; the
///         exported part is minted as `EnergyToken` to the meter's owner.
/// @dev Invariants:
///      - per meter, accepted intervals strictly increase and both registers never decrease;
///      - a (meter, interval) is recorded at most once;
///      - EnergyToken minted by this contract == sum of accepted `exportWh`;
///      - per interval, the member positions are the sums of their meters' accepted energy.
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
        IntervalNotAfterLast, // the interval is not after the meter's last accepted one
        IntervalNotEnded, // the interval has not ended yet (a reading from the future)
        IntervalClosed, // the interval's reading deadline passed or the market closed it
        RegisterWentBackwards, // a cumulative register is lower than the last accepted value
        ImplausiblePower // the energy since the last reading exceeds max power x elapsed time
    }

    /// @notice A reading as the oracle submits it.
    /// @param meterId registry id of the meter
    /// @param interval settlement interval whose end the registers describe
    /// @param importWhTotal cumulative imported Wh (OBIS 1.8.0)
    /// @param exportWhTotal cumulative exported Wh (OBIS 2.8.0)
    /// @param signature 65-byte EIP-712 signature of `Reading(meterId,interval,importWhTotal,exportWhTotal)`
    struct SignedReading {
        bytes32 meterId;
        uint32 interval;
        uint64 importWhTotal;
        uint64 exportWhTotal;
        bytes signature;
    }

    /// @notice The last accepted reading of a meter.
    struct MeterState {
        uint32 lastInterval;
        uint64 importWhTotal;
        uint64 exportWhTotal;
        bool hasBaseline;
    }

    /// @notice A member's metered energy in one interval, summed over its meters.
    struct Position {
        uint64 importWh;
        uint64 exportWh;
    }

    /// @notice A reading was accepted. `baseline` is true for a meter's first reading, which
    ///         only sets the registers (its `importWh` and `exportWh` are zero).
    event ReadingAccepted(
        bytes32 indexed meterId,
        uint32 indexed interval,
        address indexed owner,
        uint64 importWhTotal,
        uint64 exportWhTotal,
        uint64 importWh,
        uint64 exportWh,
        bool baseline
    );

    /// @notice A reading was refused; the rest of the batch goes on.
    event ReadingRejected(bytes32 indexed meterId, uint32 indexed interval, RejectReason reason);

    /// @notice The reading deadline (seconds after an interval's end) changed.
    event ReadingDeadlineChanged(uint32 oldDeadlineSeconds, uint32 newDeadlineSeconds);

    /// @notice The market closed an interval for readings (it started clearing it).
    event IntervalClosed(uint32 indexed interval);

    /// @notice The interval length is not usable (zero).
    error ReadingsInvalidIntervalSeconds(uint32 intervalSeconds);
    /// @notice The interval `interval` is not ready for the market: not ended, or neither every
    ///         active meter reported (`reported` of `expected`) nor the deadline passed.
    error ReadingsIntervalNotReady(uint32 interval, uint256 reported, uint256 expected);

    /// @notice Verify and record a batch of readings. Requires `ORACLE_ROLE`.
    /// @dev A bad reading emits `ReadingRejected` and does not revert the batch.
    /// @return accepted how many readings of the batch were accepted
    function submitReadings(SignedReading[] calldata batch) external returns (uint256 accepted);

    /// @notice Set how long after an interval's end readings for it are still accepted.
    ///         Requires `OPERATOR_ROLE`.
    function setReadingDeadlineSeconds(uint32 deadlineSeconds) external;

    /// @notice Close `interval` for readings. Requires `SYSTEM_ROLE` (the market, when it starts
    ///         clearing); reverts with `ReadingsIntervalNotReady` unless the interval is ready.
    function closeInterval(uint32 interval) external;

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

    /// @notice Number of readings accepted for `interval` (baselines included).
    function reportedCount(uint32 interval) external view returns (uint256);

    /// @notice The last accepted reading of `meterId`.
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
    ///         themselves are the owners in that interval's `ReadingAccepted` events (kept out of
    ///         storage to save gas).
    function participantCount(uint32 interval) external view returns (uint256);

    /// @notice Metered energy of `member` in `interval`, summed over its meters.
    function positionOf(uint32 interval, address member) external view returns (Position memory);
}
