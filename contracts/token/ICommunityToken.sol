// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";

/// @title ICommunityToken
/// @notice What both GridLedger tokens share: balances move only among participants (active
///         members and system contracts, see `ICommunityRegistry.isParticipant`), transfers
///         can be paused, and balances follow a member who migrates to a new wallet.
/// @dev A refused transfer reverts with the ERC-6093 errors `ERC20InvalidSender(from)` or
///      `ERC20InvalidReceiver(to)`; a caller without the role reverts with
///      `AccessControlUnauthorizedAccount(caller, role)`.
interface ICommunityToken {
    /// @notice Someone other than the registry called a registry-only function.
    error TokenCallerNotRegistry(address caller);

    /// @notice The registry whose members, roles and system contracts this token follows.
    function registry() external view returns (ICommunityRegistry);

    /// @notice Stop every transfer, mint and burn. Requires `PAUSER_ROLE` in the registry.
    function pause() external;

    /// @notice Resume transfers. Requires `PAUSER_ROLE` in the registry.
    function unpause() external;

    /// @notice Whether only participants may hold and move the token.
    function membersOnly() external view returns (bool);
}
