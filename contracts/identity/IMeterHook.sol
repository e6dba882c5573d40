// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMeterHook
/// @notice Implemented by the contract that keeps its own copy of what a reading needs of a meter
///         (`MeterReadings`): the registry tells it of every change to a meter's record or to its
///         owner's status, in the same transaction, so the copy never lags the registry.
interface IMeterHook {
    /// @notice Copy the registry's current record of `meterId` (owner, member key, signer, max
    ///         power, meter status, whether the owner is an active member). Anyone may call it:
    ///         it only copies the registry. The registry calls it after every change.
    function syncMeter(bytes32 meterId) external;
}
