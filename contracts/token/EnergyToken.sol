// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {CommunityToken} from "./CommunityToken.sol";
import {ICommunityToken} from "./ICommunityToken.sol";
import {IEnergyToken} from "./IEnergyToken.sol";
import {Roles} from "../lib/Roles.sol";

/// @title EnergyToken
/// @notice ERC-20 "kWh": 1 base unit = 1 Wh of verified local production.
/// @dev Invariants: totalSupply == minted - retired; a balance changes only by a mint, a
///      retirement or a wallet migration (no transfer). Under the market rule (issue 16) nothing
///      is minted: see IEnergyToken.
contract EnergyToken is CommunityToken, IEnergyToken {
    constructor(ICommunityRegistry registry_) ERC20("GridLedger Energy", "kWh") CommunityToken(registry_) {}

    /// @notice 3 decimals: 1 token = 1 kWh, 1 base unit = 1 Wh.
    function decimals() public pure override returns (uint8) {
        return 3;
    }

    /// @inheritdoc IEnergyToken
    function mint(address to, uint256 wh) external onlyRegistryRole(Roles.ENERGY_MINTER) {
        _mint(to, wh);
    }

    /// @inheritdoc IEnergyToken
    function retire(address from, uint256 wh) external onlyRegistryRole(Roles.ENERGY_RETIRER) {
        _burn(from, wh);
    }

    /// @inheritdoc IEnergyToken
    function retireBatch(
        address[] calldata from,
        uint256[] calldata wh
    ) external onlyRegistryRole(Roles.ENERGY_RETIRER) {
        if (from.length != wh.length) revert EnergyBatchLengthMismatch(from.length, wh.length);
        for (uint256 i = 0; i < from.length; ++i) _burn(from[i], wh[i]);
    }

    /// @dev Adds the energy rule to the members-only rule: no transfer at all, between any two
    ///      accounts. Mints (reading) and burns (retirer) pass; a wallet migration never gets
    ///      here (`_update` skips the rules for the registry).
    function _checkTransferRules(address from, address to) internal view override {
        if (from != address(0) && to != address(0)) revert EnergyTransferDisabled(from, to);
        super._checkTransferRules(from, to);
    }

    /// @notice Energy tokens are always members-only.
    function membersOnly() public pure override(CommunityToken, ICommunityToken) returns (bool) {
        return true;
    }
}
