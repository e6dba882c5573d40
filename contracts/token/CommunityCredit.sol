// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {CommunityToken} from "./CommunityToken.sol";
import {ICommunityToken} from "./ICommunityToken.sol";
import {ICommunityCredit} from "./ICommunityCredit.sol";
import {Roles} from "../lib/Roles.sol";

/// @title CommunityCredit
/// @notice ERC-20 + ERC-2612 payment token, 6 decimals, issued against fiat.
/// @dev Invariant: totalSupply == minted - burnt == fiat held by the issuer.
contract CommunityCredit is CommunityToken, ERC20Permit, ICommunityCredit {
    bool private _membersOnly = true;

    constructor(
        ICommunityRegistry registry_
    ) ERC20("GridLedger Community Credit", "CCR") ERC20Permit("GridLedger Community Credit") CommunityToken(registry_) {}

    /// @notice 6 decimals, like a EUR stablecoin.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @inheritdoc ICommunityCredit
    function mint(address to, uint256 amount) external onlyRegistryRole(Roles.ISSUER) {
        _mint(to, amount);
    }

    /// @inheritdoc ICommunityCredit
    function burn(address from, uint256 amount) external onlyRegistryRole(Roles.ISSUER) {
        _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
    }

    /// @inheritdoc ICommunityCredit
    function setMembersOnly(bool membersOnly_) external onlyRegistryRole(Roles.DEFAULT_ADMIN) {
        _membersOnly = membersOnly_;
        emit MembersOnlyChanged(membersOnly_);
    }

    /// @inheritdoc CommunityToken
    function membersOnly() public view override(CommunityToken, ICommunityToken) returns (bool) {
        return _membersOnly;
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, CommunityToken) {
        CommunityToken._update(from, to, value);
    }
}
