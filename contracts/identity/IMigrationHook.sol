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

    /// @notice Called by the registry inside `reinstateMember`, before the member is active
    ///         again. A hook refuses a reinstatement that would break work in progress by
    ///         reverting; it changes nothing. (The market refuses while it collects an interval:
    ///         a member turning active mid-collection would need a place in a walk order that is
    ///         already partly taken, and no hint could complete the interval.)
    /// @param member the suspended member about to be reinstated
    function beforeMemberReinstated(address member) external view;

    /// @notice Called by the registry inside `removeMember`, before the member is removed (it is
    ///         still active or suspended). A hook refuses by reverting, or settles what the member
    ///         still holds there (the market refunds its deposit).
    /// @param member the member about to be removed
    function beforeMemberRemoved(address member) external;

    /// @notice Called by the registry after every change of a member's record that a copy of it
    ///         would need: onboarding, suspension, reinstatement, removal, and a migration (once
    ///         for each wallet). A hook that keeps its own copy of a member's status and key (the
    ///         market) re-reads the registry; the others do nothing.
    /// @param wallet the member's wallet whose record changed
    function onMemberChanged(address wallet) external;
}
