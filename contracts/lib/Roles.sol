// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Roles
/// @notice Every GridLedger role, listed in one place. The `CommunityRegistry` is the single
///         `AccessControl` instance; the other contracts ask it whether an account holds a role.
library Roles {
    /// @dev Community governance: grants and revokes every other role (OpenZeppelin's 0x00).
    bytes32 internal constant DEFAULT_ADMIN = 0x00;
    /// @dev Onboards members and meters, sets tariffs.
    bytes32 internal constant OPERATOR = keccak256("OPERATOR_ROLE");
    /// @dev Submits batches of signed meter readings.
    bytes32 internal constant ORACLE = keccak256("ORACLE_ROLE");
    /// @dev Pauses and unpauses token transfers and the market.
    bytes32 internal constant PAUSER = keccak256("PAUSER_ROLE");
    /// @dev Mints and redeems the payment token (fiat on- and off-ramp).
    bytes32 internal constant ISSUER = keccak256("ISSUER_ROLE");
    /// @dev Mints energy tokens for verified exports: the metering contract only.
    bytes32 internal constant ENERGY_MINTER = keccak256("ENERGY_MINTER_ROLE");
    /// @dev Retires (burns) energy tokens against consumption: the market only.
    bytes32 internal constant ENERGY_RETIRER = keccak256("ENERGY_RETIRER_ROLE");
    /// @dev System contracts that may hold and move members' tokens (the market).
    bytes32 internal constant SYSTEM = keccak256("SYSTEM_ROLE");
}
