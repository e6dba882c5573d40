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
/// @dev Invariant: totalSupply == minted - retired; every minted unit is backed by an accepted
///      export reading (the metering contract is the only `ENERGY_MINTER_ROLE`).
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

    /// @dev Adds the energy rule to the members-only rule: a transfer needs a system contract
    ///      (the market) on one side.
    function _checkTransferRules(address from, address to) internal view override {
        super._checkTransferRules(from, to);
        if (from != address(0) && to != address(0)) {
            if (!_registry.hasRole(Roles.SYSTEM, from) && !_registry.hasRole(Roles.SYSTEM, to)) {
                revert EnergyTransferOutsideMarket(from, to);
            }
        }
    }

    /// @notice Energy tokens are always members-only.
    function membersOnly() public pure override(CommunityToken, ICommunityToken) returns (bool) {
        return true;
    }
}
