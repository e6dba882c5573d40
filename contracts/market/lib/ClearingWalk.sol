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
///      new bid. So a caller cannot end the walk early by holding entries back. Anyone may send
///      a page, so a wrong closure (or a skipped cheaper order) can come from an earlier page:
///      the market then restarts the collection when the entry it refuses is refused by the
///      state the earlier pages left (`EnergyMarket.collect`, `CollectionRestarted`); in the walk
///      order a correct closure is never refuted (every remaining bid comes before the next ask
///      while the current ask has a remainder).
///
///      The price (docs/market-rule.md) lies in the competitive equilibrium range
///      [max(marginal matched ask, first unmatched bid), min(marginal matched bid, first unmatched
///      ask)], where the remainder of a partly filled order counts as unmatched; the point taken
///      is the floor of the midpoint. Asks are admitted in ascending and bids in descending
///      order, and the walk matches a prefix of each list, so the first unmatched ask is the
///      first admitted ask left with a remainder (seen when it is replaced, or the current ask
///      at the end), and the same for bids; an order is replaced with a remainder only once
///      matching is over (the walk stopped, or the other side is closed), so tightening the
///      range there never meets a later fill. The price is read only once every participant
///      of the interval is admitted (the market counts them against the readings), so the
///      first unmatched order of each side is always in: leaving it out makes the page count
///      fall short and the price is never fixed; sending it too early closes the other side,
///      which then refuses the orders still to come.
///
///      Money (`fillCredits`): the k-th fill in walk order, ending at cumulative matched volume
///      C_k, moves floor(C_k * p / 1000) - floor(C_{k-1} * p / 1000). A member's fills are
///      consecutive in the walk, so each member's total is floor(end * p / 1000) -
///      floor(start * p / 1000), within one base unit of its exact value: at least
///      floor(Wh * p / 1000) for a seller (>= what feed-in pays for the same Wh) and at most
///      ceil(Wh * p / 1000) for a buyer (<= what retail costs, which the grid rounds up); all
///      buyers pay exactly what all sellers receive, floor(matched * p / 1000).
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
        // The equilibrium range so far: the marginal matched ask and bid, tightened by every
        // order replaced with a remainder (which happens only once matching is over, see below).
        uint64 priceLow;
        uint64 priceHigh;
    }

    /// @notice Take `e` as the next ask. Returns false if it breaks the order; otherwise the
    ///         ask it replaces (which the caller may now finish).
    function admitAsk(State memory s, Cur memory e) internal pure returns (bool ok, Cur memory previous) {
        if (s.asksClosed) return (false, previous);
        if (s.anyAsk && (e.price < s.lastAskPrice || (e.price == s.lastAskPrice && e.orderId <= s.lastAskId))) {
            return (false, previous);
        }
        if (s.ask.present && s.ask.rem != 0) {
            // The walk stopped, or (closing rule) no bid is left: matching is over, and the
            // replaced ask is unmatched; the first such ask is the cheapest.
            if (!s.stopped) s.bidsClosed = true;
            if (s.ask.price < s.priceHigh) s.priceHigh = s.ask.price;
        }
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
        if (s.bid.present && s.bid.rem != 0) {
            if (!s.stopped) s.asksClosed = true;
            if (s.bid.price > s.priceLow) s.priceLow = s.bid.price;
        }
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
        s.priceLow = s.ask.price;
        s.priceHigh = s.bid.price;
    }

    /// @notice The uniform price once every entry is admitted: the floor of the midpoint of the
    ///         competitive equilibrium range [lo, hi], lo = max(marginal matched ask, first
    ///         unmatched bid), hi = min(marginal matched bid, first unmatched ask); 0 without a
    ///         match. Within [feed-in, retail] because every ask is >= feed-in and every bid <=
    ///         retail (lo >= marginal ask, hi <= marginal bid); lo <= hi because a first unmatched
    ///         bid and a first unmatched ask both exist only when the walk stopped on them
    ///         (bid < ask), and the lists are sorted.
    function clearingPrice(State memory s) internal pure returns (uint64) {
        if (s.matchedWh == 0) return 0;
        uint64 lo = s.priceLow;
        uint64 hi = s.priceHigh;
        // The current orders' remainders are unmatched too.
        if (s.ask.rem != 0 && s.ask.price < hi) hi = s.ask.price;
        if (s.bid.rem != 0 && s.bid.price > lo) lo = s.bid.price;
        return uint64((uint256(lo) + uint256(hi)) / 2);
    }

    /// @notice Credits of the fill that takes the matched volume from `matchedBeforeWh` to
    ///         `matchedBeforeWh + wh` at `price` per kWh:
    ///         floor((before + wh) * price / 1000) - floor(before * price / 1000).
    function fillCredits(uint64 matchedBeforeWh, uint64 wh, uint64 price) internal pure returns (uint256) {
        // Products of uint64 values in uint256: no overflow; the first floor is >= the second.
        return ((uint256(matchedBeforeWh) + wh) * price) / 1000 - (uint256(matchedBeforeWh) * price) / 1000;
    }
}
