// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ClearingWalk
/// @notice The double-auction walk of GridLedger as a state machine over entries fed in walk
///         order: asks sorted by (price asc, order id asc), bids by (price desc, order id asc),
///         interleaved so that a new ask arrives only when the current ask is used up (and the
///         same for bids). Matching runs eagerly while the current bid's price >= the current
///         ask's price. The result is exactly the classic walk over the two sorted lists, which
///         `src/sdk/clearing.ts` implements; `src/sdk/hint.ts` produces the walk order.
/// @dev Pure library on a memory state, so that both passes (collect, settle) and tests drive
///      the same code. An entry that breaks the order makes `admit*` return false.
///      Closing rules: a new ask while the current ask still has a remainder (and the walk has
///      not stopped) means "no more bids exist" — any later bid is refused; symmetrically for a
///      new bid. So a caller cannot end the walk early by holding entries back.
library ClearingWalk {
    /// @dev The current ask or bid.
    struct Cur {
        address member;
        uint64 orderId;
        uint64 price;
        uint64 qty;
        uint64 rem;
        uint64 importWh;
        uint64 exportWh;
        bool present;
        uint256 credits;
    }

    struct State {
        Cur ask;
        Cur bid;
        uint64 lastAskPrice;
        uint64 lastAskId;
        uint64 lastBidPrice;
        uint64 lastBidId;
        bool anyAsk;
        bool anyBid;
        bool stopped;
        bool asksClosed;
        bool bidsClosed;
        uint64 matchedWh;
        uint64 marginalAskPrice;
        uint64 marginalBidPrice;
    }

    /// @notice Take `e` as the next ask. Returns false if it breaks the order; otherwise the
    ///         ask it replaces (which the caller may now finish).
    function admitAsk(State memory s, Cur memory e) internal pure returns (bool ok, Cur memory previous) {
        if (s.asksClosed) return (false, previous);
        if (s.anyAsk && (e.price < s.lastAskPrice || (e.price == s.lastAskPrice && e.orderId <= s.lastAskId))) {
            return (false, previous);
        }
        if (s.ask.present && s.ask.rem != 0 && !s.stopped) s.bidsClosed = true;
        previous = s.ask;
        s.ask = e;
        s.anyAsk = true;
        s.lastAskPrice = e.price;
        s.lastAskId = e.orderId;
        return (true, previous);
    }

    /// @notice Take `e` as the next bid (see `admitAsk`).
    function admitBid(State memory s, Cur memory e) internal pure returns (bool ok, Cur memory previous) {
        if (s.bidsClosed) return (false, previous);
        if (s.anyBid && (e.price > s.lastBidPrice || (e.price == s.lastBidPrice && e.orderId <= s.lastBidId))) {
            return (false, previous);
        }
        if (s.bid.present && s.bid.rem != 0 && !s.stopped) s.asksClosed = true;
        previous = s.bid;
        s.bid = e;
        s.anyBid = true;
        s.lastBidPrice = e.price;
        s.lastBidId = e.orderId;
        return (true, previous);
    }

    /// @notice One matching step between the current ask and bid. Returns the Wh matched, or 0
    ///         when no match is possible now (one side used up, or prices no longer cross, which
    ///         stops the walk for good).
    function nextFill(State memory s) internal pure returns (uint64 wh) {
        if (s.stopped || s.ask.rem == 0 || s.bid.rem == 0) return 0;
        if (s.bid.price < s.ask.price) {
            s.stopped = true;
            return 0;
        }
        wh = s.ask.rem < s.bid.rem ? s.ask.rem : s.bid.rem;
        // wh <= both remainders; matchedWh <= sum of ask quantities (each uint64 of one
        // interval's metered energy), far below 2^64: no overflow.
        unchecked {
            s.ask.rem -= wh;
            s.bid.rem -= wh;
        }
        s.matchedWh += wh;
        s.marginalAskPrice = s.ask.price;
        s.marginalBidPrice = s.bid.price;
    }

    /// @notice The uniform price: floor((marginal ask + marginal bid) / 2), or 0 without a match.
    function clearingPrice(State memory s) internal pure returns (uint64) {
        if (s.matchedWh == 0) return 0;
        return uint64((uint256(s.marginalAskPrice) + uint256(s.marginalBidPrice)) / 2);
    }
}
