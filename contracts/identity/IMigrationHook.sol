// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMigrationHook
/// @notice Implemented by every GridLedger contract that keeps per-member state (token
///         balances, market deposits, standing orders) so that the state follows a member to a
///         new wallet.
interface IMigrationHook {
    /// @notice Called by the registry, and only by it, inside `migrateMember`, after the
    ///         member record has moved: `newWallet` is already the member, `oldWallet` is
    ///         `Migrated`.
    /// @param oldWallet the wallet that lost its key
    /// @param newWallet the member's new wallet
    function onMemberMigrated(address oldWallet, address newWallet) external;
}
