// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICommunityToken} from "./ICommunityToken.sol";

/// @title IEnergyToken
/// @notice The kWh token: 3 decimals, 1 base unit = 1 Wh of verified local production. Not
///         transferable: `transfer` and `transferFrom` always revert with `EnergyTransferDisabled`.
///         Since issue 16 the market rule mints none of it: every Wh a reading proves is
///         consumed in its own interval (by its producer, a neighbour or the grid), so a
///         balance minted at the reading and burnt at settlement said nothing the events do not
///         (`IMeterReadings.ReadingAccepted` books it, `IEnergyMarket.MemberSettled` retires it
///         with its interval) and cost ~25k gas per exporter and interval. The deploy scripts
///         grant `ENERGY_MINTER_ROLE` and `ENERGY_RETIRER_ROLE` to no contract; the auditor
///         reports any mint as a violation (the rule's supply is zero).
interface IEnergyToken is ICommunityToken {
    /// @notice Energy tokens never move between accounts (members, the market, anyone): what a
    ///         reading minted stays with the meter's owner until the market retires it, so no
    ///         balance that settlement burns can be altered. Only a wallet migration, which the
    ///         registry starts, moves a balance (whole, to the member's new wallet).
    error EnergyTransferDisabled(address from, address to);

    /// @notice `retireBatch` got lists of different lengths.
    error EnergyBatchLengthMismatch(uint256 from, uint256 wh);

    /// @notice Mint `wh` to `to` for a verified export. Requires `ENERGY_MINTER_ROLE`.
    function mint(address to, uint256 wh) external;

    /// @notice Retire (burn) `wh` held by `from` against consumption. Requires
    ///         `ENERGY_RETIRER_ROLE`; needs no allowance.
    function retire(address from, uint256 wh) external;

    /// @notice Retire `wh[i]` from `from[i]` for every i: one role check for a settlement page.
    ///         Requires `ENERGY_RETIRER_ROLE`.
    function retireBatch(address[] calldata from, uint256[] calldata wh) external;
}
