// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICommunityToken} from "./ICommunityToken.sol";

/// @title ICommunityCredit
/// @notice The payment token of local and private chains: 6 decimals like a EUR stablecoin,
///         ERC-2612 permit. The issuer mints it against fiat paid in and burns it when a member
///         redeems. A community that settles in an existing stablecoin turns the members-only
///         rule off (or names that stablecoin to the market instead).
interface ICommunityCredit is ICommunityToken {
    /// @notice The members-only transfer rule was switched on or off.
    event MembersOnlyChanged(bool membersOnly);

    /// @notice Mint `amount` to `to` (fiat on-ramp). Requires `ISSUER_ROLE`.
    function mint(address to, uint256 amount) external;

    /// @notice Burn `amount` from `from` (fiat off-ramp). Requires `ISSUER_ROLE` and an
    ///         allowance from `from` to the issuer of at least `amount` (approve or permit):
    ///         nobody's credits are burnt without their consent.
    function burn(address from, uint256 amount) external;

    /// @notice Switch the members-only rule. Requires `DEFAULT_ADMIN_ROLE`.
    function setMembersOnly(bool membersOnly_) external;
}
