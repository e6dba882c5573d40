// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {IMigrationHook} from "../identity/IMigrationHook.sol";
import {ICommunityToken} from "./ICommunityToken.sol";
import {Roles} from "../lib/Roles.sol";

/// @title CommunityToken
/// @notice Base of both GridLedger tokens: the members-only rule, pausing and wallet
///         migration, enforced once, in `_update`.
/// @dev Invariant: sum of balances == totalSupply (OpenZeppelin ERC20). The only balance
///      change that bypasses the members-only rule and the pause is a wallet migration, which
///      the registry alone can start.
abstract contract CommunityToken is ERC20, Pausable, ICommunityToken, IMigrationHook {
    ICommunityRegistry internal immutable _registry;

    constructor(ICommunityRegistry registry_) {
        _registry = registry_;
    }

    modifier onlyRegistryRole(bytes32 role) {
        if (!_registry.hasRole(role, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
        }
        _;
    }

    /// @inheritdoc ICommunityToken
    function registry() external view returns (ICommunityRegistry) {
        return _registry;
    }

    /// @inheritdoc ICommunityToken
    function pause() external onlyRegistryRole(Roles.PAUSER) {
        _pause();
    }

    /// @inheritdoc ICommunityToken
    function unpause() external onlyRegistryRole(Roles.PAUSER) {
        _unpause();
    }

    /// @inheritdoc ICommunityToken
    function membersOnly() public view virtual override returns (bool);

    /// @inheritdoc IMigrationHook
    function onMemberMigrated(address oldWallet, address newWallet) external {
        if (msg.sender != address(_registry)) revert TokenCallerNotRegistry(msg.sender);
        uint256 balance = balanceOf(oldWallet);
        if (balance != 0) _update(oldWallet, newWallet, balance);
    }

    /// @inheritdoc IMigrationHook
    /// @dev A balance has no work in progress: nothing to refuse.
    // solhint-disable-next-line no-empty-blocks
    function beforeMemberReinstated(address member) external view {}

    /// @inheritdoc IMigrationHook
    /// @dev A balance stays with the wallet (it can no longer move): nothing to refuse.
    // solhint-disable-next-line no-empty-blocks
    function beforeMemberRemoved(address member) external {}

    /// @inheritdoc IMigrationHook
    /// @dev Balances are keyed by wallet and checked against the registry itself: nothing to copy.
    // solhint-disable-next-line no-empty-blocks
    function onMemberChanged(address wallet) external {}

    /// @dev The one path of every balance change: mint, burn, transfer and migration.
    function _update(address from, address to, uint256 value) internal virtual override {
        if (msg.sender != address(_registry)) {
            _requireNotPaused();
            _checkTransferRules(from, to);
        }
        super._update(from, to, value);
    }

    /// @dev Mints and transfers need a participant receiver; transfers a participant sender.
    ///      One exception: a system account (the market) may pay a suspended member (its
    ///      withdrawal or refund); a removed or migrated wallet never receives.
    ///      Burns are done only by privileged roles (retirer, issuer with an allowance) and must
    ///      work for a suspended member too. Called from `_update` only.
    function _checkTransferRules(address from, address to) internal view virtual {
        if (membersOnly() && to != address(0)) {
            if (from != address(0) && !_registry.isParticipant(from)) revert ERC20InvalidSender(from);
            if (!_registry.isParticipant(to) && !_systemPaysSuspended(from, to)) revert ERC20InvalidReceiver(to);
        }
    }

    function _systemPaysSuspended(address from, address to) private view returns (bool) {
        return
            from != address(0) &&
            _registry.hasRole(Roles.SYSTEM, from) &&
            _registry.memberOf(to).status == ICommunityRegistry.MemberStatus.Suspended;
    }
}
