// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {IMeterReadings} from "../oracle/IMeterReadings.sol";
import {EnergyMarket} from "../market/EnergyMarket.sol";

/// @title FaultyEnergyMarket
/// @dev TEST ONLY. The production market with one deliberate fault for the auditor's tampering
///      test: every fill is paid at 1.5 times the clearing price it reports (the `Traded` event
///      still names the uniform price).
contract FaultyEnergyMarket is EnergyMarket {
    constructor(
        ICommunityRegistry registry_,
        IMeterReadings readings_,
        IERC20 credit_,
        uint64 retailPerKWh,
        uint64 feedInPerKWh,
        uint32 firstInterval
    ) EnergyMarket(registry_, readings_, credit_, retailPerKWh, feedInPerKWh, firstInterval) {}

    /// @dev FAULT: 1.5x the uniform price.
    function _fillCredits(uint64 matchedBeforeWh, uint64 wh, uint64 price) internal pure override returns (uint256) {
        return (super._fillCredits(matchedBeforeWh, wh, price) * 3) / 2;
    }
}
