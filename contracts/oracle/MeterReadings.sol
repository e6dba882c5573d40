// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {IEnergyToken} from "../token/IEnergyToken.sol";
import {IMeterReadings} from "./IMeterReadings.sol";
import {Roles} from "../lib/Roles.sol";

/// @title MeterReadings
/// @notice Verifies batches of signed meter readings, records interval energy per member and
///         mints exported Wh as EnergyToken.
/// @dev Invariants (see the interface): per meter, intervals strictly increase and registers
///      never decrease; EnergyToken minted here == sum of accepted export energy.
///      A meter's slot also keeps a 64-bit history: bit k set <=> interval `lastInterval - k`
///      was accepted, so a resubmission within 64 intervals is told `AlreadyRecorded`.
contract MeterReadings is IMeterReadings, EIP712 {
    bytes32 private constant _READING_TYPEHASH =
        keccak256("Reading(bytes32 meterId,uint32 interval,uint64 importWhTotal,uint64 exportWhTotal)");
    uint32 private constant _HISTORY_BITS = 64;

    /// @dev One slot per meter: last interval, both registers, baseline flag, history bits.
    struct MeterSlot {
        uint32 lastInterval;
        uint64 importWhTotal;
        uint64 exportWhTotal;
        bool hasBaseline;
        uint64 history;
    }

    ICommunityRegistry private immutable _registry;
    IEnergyToken private immutable _energy;
    uint64 private immutable _marketStart;
    uint32 private immutable _intervalSeconds;

    uint32 private _readingDeadlineSeconds;
    mapping(bytes32 meterId => MeterSlot) private _meters;
    mapping(uint32 interval => uint256) private _reportedCount;
    mapping(uint32 interval => bool) private _closed;
    mapping(uint32 interval => mapping(address member => Position)) private _positions;
    mapping(uint32 interval => uint256) private _participantCount;

    /// @param registry_ the community registry (meters, members, roles)
    /// @param energy_ the energy token this contract mints
    /// @param marketStart_ unix time of the start of interval 0
    /// @param intervalSeconds_ length of an interval (900 for 15 minutes)
    constructor(
        ICommunityRegistry registry_,
        IEnergyToken energy_,
        uint64 marketStart_,
        uint32 intervalSeconds_
    ) EIP712("GridLedger MeterReadings", "1") {
        if (intervalSeconds_ == 0) revert ReadingsInvalidIntervalSeconds(intervalSeconds_);
        _registry = registry_;
        _energy = energy_;
        _marketStart = marketStart_;
        _intervalSeconds = intervalSeconds_;
        _readingDeadlineSeconds = intervalSeconds_;
    }

    modifier onlyRegistryRole(bytes32 role) {
        if (!_registry.hasRole(role, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
        }
        _;
    }

    // ---------------------------------------------------------------- writes

    /// @inheritdoc IMeterReadings
    function submitReadings(
        SignedReading[] calldata batch
    ) external onlyRegistryRole(Roles.ORACLE) returns (uint256 accepted) {
        uint256 n = batch.length;
        for (uint256 i = 0; i < n; ++i) {
            if (_submit(batch[i])) ++accepted;
        }
    }

    /// @inheritdoc IMeterReadings
    function setReadingDeadlineSeconds(uint32 deadlineSeconds) external onlyRegistryRole(Roles.OPERATOR) {
        uint32 old = _readingDeadlineSeconds;
        _readingDeadlineSeconds = deadlineSeconds;
        emit ReadingDeadlineChanged(old, deadlineSeconds);
    }

    /// @inheritdoc IMeterReadings
    function closeInterval(uint32 interval) external onlyRegistryRole(Roles.SYSTEM) {
        if (_closed[interval]) return;
        if (!isReady(interval)) {
            revert ReadingsIntervalNotReady(interval, _reportedCount[interval], _registry.activeMeterCount());
        }
        _closed[interval] = true;
        emit IntervalClosed(interval);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMeterReadings
    function marketStart() external view returns (uint64) {
        return _marketStart;
    }

    /// @inheritdoc IMeterReadings
    function intervalSeconds() external view returns (uint32) {
        return _intervalSeconds;
    }

    /// @inheritdoc IMeterReadings
    function readingDeadlineSeconds() external view returns (uint32) {
        return _readingDeadlineSeconds;
    }

    /// @inheritdoc IMeterReadings
    function currentInterval() public view returns (uint32) {
        if (block.timestamp < _marketStart) return 0;
        return uint32((block.timestamp - _marketStart) / _intervalSeconds);
    }

    /// @inheritdoc IMeterReadings
    function isReady(uint32 interval) public view returns (bool) {
        if (_closed[interval]) return true;
        if (!_hasEnded(interval)) return false;
        if (block.timestamp > _deadline(interval)) return true;
        return _reportedCount[interval] >= _registry.activeMeterCount();
    }

    /// @inheritdoc IMeterReadings
    function isClosed(uint32 interval) external view returns (bool) {
        return _closed[interval];
    }

    /// @inheritdoc IMeterReadings
    function reportedCount(uint32 interval) external view returns (uint256) {
        return _reportedCount[interval];
    }

    /// @inheritdoc IMeterReadings
    function meterState(bytes32 meterId) external view returns (MeterState memory) {
        MeterSlot storage s = _meters[meterId];
        return MeterState(s.lastInterval, s.importWhTotal, s.exportWhTotal, s.hasBaseline);
    }

    /// @inheritdoc IMeterReadings
    function isRecorded(bytes32 meterId, uint32 interval) external view returns (bool) {
        return _isRecorded(_meters[meterId], interval);
    }

    /// @inheritdoc IMeterReadings
    function readingDigest(
        bytes32 meterId,
        uint32 interval,
        uint64 importWhTotal,
        uint64 exportWhTotal
    ) public view returns (bytes32) {
        return
            _hashTypedDataV4(keccak256(abi.encode(_READING_TYPEHASH, meterId, interval, importWhTotal, exportWhTotal)));
    }

    /// @inheritdoc IMeterReadings
    function participantCount(uint32 interval) external view returns (uint256) {
        return _participantCount[interval];
    }

    /// @inheritdoc IMeterReadings
    function positionOf(uint32 interval, address member) external view returns (Position memory) {
        return _positions[interval][member];
    }

    // ---------------------------------------------------------------- internal

    function _hasEnded(uint32 interval) private view returns (bool) {
        return uint256(_marketStart) + (uint256(interval) + 1) * _intervalSeconds <= block.timestamp;
    }

    function _deadline(uint32 interval) private view returns (uint256) {
        return uint256(_marketStart) + (uint256(interval) + 1) * _intervalSeconds + _readingDeadlineSeconds;
    }

    function _isRecorded(MeterSlot storage s, uint32 interval) private view returns (bool) {
        if (!s.hasBaseline || interval > s.lastInterval) return false;
        uint32 age = s.lastInterval - interval;
        if (age >= _HISTORY_BITS) return false;
        return (s.history >> age) & 1 == 1;
    }

    /// @dev Checks one reading; records it and returns true, or emits `ReadingRejected`.
    function _submit(SignedReading calldata r) private returns (bool) {
        (RejectReason reason, address owner, uint32 maxPowerW) = _check(r);
        if (reason != RejectReason.None) return _reject(r, reason);

        MeterSlot storage s = _meters[r.meterId];
        if (!s.hasBaseline) {
            _meters[r.meterId] = MeterSlot(r.interval, r.importWhTotal, r.exportWhTotal, true, 1);
            ++_reportedCount[r.interval];
            _emitAccepted(r, owner, 0, 0, true);
            return true;
        }
        if (r.importWhTotal < s.importWhTotal || r.exportWhTotal < s.exportWhTotal) {
            return _reject(r, RejectReason.RegisterWentBackwards);
        }
        uint64 importWh = r.importWhTotal - s.importWhTotal;
        uint64 exportWh = r.exportWhTotal - s.exportWhTotal;
        uint32 elapsedIntervals = r.interval - s.lastInterval;
        // uint256 arithmetic: maxPowerW < 2^32, elapsed seconds < 2^64, no overflow.
        uint256 maxWh = (uint256(maxPowerW) * uint256(elapsedIntervals) * _intervalSeconds) / 3600;
        if (importWh > maxWh || exportWh > maxWh) return _reject(r, RejectReason.ImplausiblePower);

        uint64 history = elapsedIntervals >= _HISTORY_BITS ? 1 : (s.history << elapsedIntervals) | 1;
        _meters[r.meterId] = MeterSlot(r.interval, r.importWhTotal, r.exportWhTotal, true, history);
        ++_reportedCount[r.interval];

        if (importWh != 0 || exportWh != 0) {
            Position storage p = _positions[r.interval][owner];
            if (p.importWh == 0 && p.exportWh == 0) ++_participantCount[r.interval];
            // A member's interval sum of meter deltas is bounded by max power x time, far below
            // 2^64 Wh; checked arithmetic stays on all the same.
            p.importWh += importWh;
            p.exportWh += exportWh;
        }
        _emitAccepted(r, owner, importWh, exportWh, false);
        if (exportWh != 0) _energy.mint(owner, exportWh);
        return true;
    }

    /// @dev Registry, signature and time checks that need no meter state but the slot's.
    function _check(
        SignedReading calldata r
    ) private view returns (RejectReason reason, address owner, uint32 maxPowerW) {
        ICommunityRegistry.Meter memory meter = _registry.meterOf(r.meterId);
        owner = meter.owner;
        maxPowerW = meter.maxPowerW;
        if (meter.status == ICommunityRegistry.MeterStatus.None) return (RejectReason.UnknownMeter, owner, maxPowerW);
        if (meter.status != ICommunityRegistry.MeterStatus.Active) return (RejectReason.MeterRetired, owner, maxPowerW);
        if (!_registry.isActiveMember(owner)) return (RejectReason.OwnerNotActive, owner, maxPowerW);

        bytes32 digest = readingDigest(r.meterId, r.interval, r.importWhTotal, r.exportWhTotal);
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, r.signature);
        if (err != ECDSA.RecoverError.NoError || recovered != meter.signer) {
            return (RejectReason.BadSignature, owner, maxPowerW);
        }

        MeterSlot storage s = _meters[r.meterId];
        if (s.hasBaseline && r.interval <= s.lastInterval) {
            reason = _isRecorded(s, r.interval) ? RejectReason.AlreadyRecorded : RejectReason.IntervalNotAfterLast;
            return (reason, owner, maxPowerW);
        }
        if (!_hasEnded(r.interval)) return (RejectReason.IntervalNotEnded, owner, maxPowerW);
        if (_closed[r.interval] || block.timestamp > _deadline(r.interval)) {
            return (RejectReason.IntervalClosed, owner, maxPowerW);
        }
        return (RejectReason.None, owner, maxPowerW);
    }

    function _emitAccepted(
        SignedReading calldata r,
        address owner,
        uint64 importWh,
        uint64 exportWh,
        bool baseline
    ) private {
        emit ReadingAccepted(
            r.meterId,
            r.interval,
            owner,
            r.importWhTotal,
            r.exportWhTotal,
            importWh,
            exportWh,
            baseline
        );
    }

    function _reject(SignedReading calldata r, RejectReason reason) private returns (bool) {
        emit ReadingRejected(r.meterId, r.interval, reason);
        return false;
    }
}
