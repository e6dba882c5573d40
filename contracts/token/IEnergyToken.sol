// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICommunityToken} from "./ICommunityToken.sol";

/// @title IEnergyToken
/// @notice The kWh token: 3 decimals, 1 base unit = 1 Wh of verified local production.
///         Minted only for exports that a signed meter reading proved, retired (burnt) when
///         the energy is consumed (by its producer, a neighbour, or the grid).
interface IEnergyToken is ICommunityToken {
    /// @notice Energy tokens move only between members and system contracts (the market),
    ///         never member to member: what a reading minted stays until the market retires it.
    error EnergyTransferOutsideMarket(address from, address to);

    /// @notice Mint `wh` to `to` for a verified export. Requires `ENERGY_MINTER_ROLE`.
    function mint(address to, uint256 wh) external;

    /// @notice Retire (burn) `wh` held by `from` against consumption. Requires
    ///         `ENERGY_RETIRER_ROLE`; needs no allowance.
    function retire(address from, uint256 wh) external;
}
