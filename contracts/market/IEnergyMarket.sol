// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEnergyMarket
/// @notice Deposits, standing limit orders, tariffs, and the interval double auction of
///         GridLedger with paged settlement.
///
///         The rule (DESIGN.md, "The market rule"): per interval, each member's own export first
///         covers its own import (self-supply); active members' net positions with a live order
///         enter a uniform-price double auction — asks at `max(limit, feedIn)` for
///         `min(netExport, cap)`, bids at `min(limit, retail)` for
///         `min(netImport, cap, affordable)` — sorted by price (ties: lower order id first) and
///         walked while bid >= ask; every matched Wh trades at one price, the floor of the
///         midpoint of the competitive equilibrium range [max(marginal matched ask, first
///         unmatched bid), min(marginal matched bid, first unmatched ask)]; the k-th fill, ending
///         at cumulative matched volume C_k, moves floor(C_k * p / 1000) -
///         floor(C_(k-1) * p / 1000) credits. The rest goes to and comes from the grid at the
///         tariffs. The whole rule with its integer arithmetic: docs/market-rule.md.
///
///         Clearing an interval takes two passes, each split into pages (transactions) that
///         anyone may send:
///         1. `collect(t, hint)`: the caller lists every participant of `t` (the owners in its
///            `ReadingAccepted` events) tagged Ask, Bid or None, asks and bids in walk order
///            (see `src/sdk/hint.ts`). The contract computes each entry itself, checks the tag,
///            the order and that nobody appears twice, walks the auction and emits
///            `EntryCollected`. After the last participant the price is known
///            (`IntervalCleared`). A wrong hint reverts; it cannot change the outcome.
///         2. `settle(t, entries)`: the caller passes the collected entries back, page by page
///            as they were collected; the contract checks them against the hash of pass 1,
///            replays the walk with the price, moves credits (buyer -> seller), retires every
///            Wh exported in `t`, and emits `Traded` per fill and `MemberSettled` per member.
///         While an interval is being collected, deposits, withdrawals and order changes wait;
///         while it is being settled, withdrawals wait: nobody escapes an obligation between
///         pages. Intervals are cleared strictly in order, each exactly once.
/// @dev Invariants: credit balance of this contract == sum of deposits; energy retired for an
///      interval == sum of its accepted exports; every trade price within [feedIn, retail].
interface IEnergyMarket {
    enum Side {
        Buy,
        Sell
    }

    /// @notice What a participant is in an interval's auction.
    enum Tag {
        None, // no eligible order: self-supply and grid only
        Ask, // an eligible sell order
        Bid // an eligible buy order
    }

    /// @notice Where an interval stands.
    enum Phase {
        Open, // not started (or the next interval to clear)
        Collecting,
        Settling,
        Settled
    }

    /// @notice Signed order actions, for relaying.
    enum Action {
        Place,
        Update,
        Cancel
    }

    /// @notice A standing limit order; one per member and side.
    struct Order {
        uint64 orderId;
        uint64 limitPricePerKWh;
        uint64 capWhPerInterval;
        uint32 firstInterval;
        uint32 lastInterval;
    }

    /// @notice A tariff in force from `fromInterval` on.
    struct Tariff {
        uint32 fromInterval;
        uint64 retailPerKWh;
        uint64 feedInPerKWh;
    }

    /// @notice One participant as the caller of `collect` lists it.
    struct HintItem {
        address participant;
        Tag tag;
    }

    // An ABI (calldata and event) record, hashed into the page checkpoints, never stored: its field
    // order is the order of EntryCollected and of the hash, not a storage layout.
    /// @notice One collected entry, as `EntryCollected` reported it and `settle` takes it back.
    // solhint-disable-next-line gas-struct-packing
    struct Entry {
        address member;
        Tag tag;
        uint64 orderId;
        uint64 qtyWh;
        uint64 pricePerKWh;
        uint64 importWh;
        uint64 exportWh;
    }

    /// @notice An order action signed by a member (EIP-712) and relayed by anyone.
    struct OrderIntent {
        address member;
        Action action;
        Side side;
        uint64 limitPricePerKWh;
        uint64 capWhPerInterval;
        uint32 firstInterval;
        uint32 lastInterval;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Progress of an interval's clearing.
    struct IntervalState {
        Phase phase;
        uint32 collected;
        uint32 participants;
        uint32 pagesCollected;
        uint32 pagesSettled;
        uint64 pricePerKWh;
        uint64 matchedWh;
        uint64 retailPerKWh;
        uint64 feedInPerKWh;
    }

    // ---------------------------------------------------------------- events

    event Deposited(address indexed member, uint256 amount);
    event Withdrawn(address indexed member, uint256 amount);
    event OrderPlaced(
        address indexed member,
        Side indexed side,
        uint64 indexed orderId,
        uint64 limitPricePerKWh,
        uint64 capWhPerInterval,
        uint32 firstInterval,
        uint32 lastInterval
    );
    event OrderCancelled(address indexed member, Side indexed side, uint64 indexed orderId);
    event TariffScheduled(uint32 indexed fromInterval, uint64 retailPerKWh, uint64 feedInPerKWh);
    /// @notice A member's deposits and orders moved to its new wallet.
    event AccountMigrated(address indexed oldWallet, address indexed newWallet, uint256 deposit);
    event EntryCollected(
        uint32 indexed interval,
        address indexed member,
        Tag tag,
        uint64 orderId,
        uint64 qtyWh,
        uint64 pricePerKWh,
        uint64 importWh,
        uint64 exportWh,
        uint256 availableCredits
    );
    /// @notice A page of pass 1 ended after `collected` participants; `checkpoint` is the hash
    ///         of every entry so far.
    event PageCollected(uint32 indexed interval, uint32 page, uint32 collected, bytes32 checkpoint);
    event IntervalCleared(
        uint32 indexed interval,
        uint64 pricePerKWh,
        uint64 matchedWh,
        uint64 retailPerKWh,
        uint64 feedInPerKWh,
        uint32 participants
    );
    /// @notice A fill: `wh` of the seller's local production consumed by the buyer, for
    ///         `credits` = floor(C_k * price / 1000) - floor(C_(k-1) * price / 1000), C_k the
    ///         interval's cumulative matched Wh after this fill (docs/market-rule.md, section 6).
    event Traded(
        uint32 indexed interval,
        address indexed seller,
        address indexed buyer,
        uint64 wh,
        uint64 pricePerKWh,
        uint256 credits
    );
    /// @notice A member's whole result for an interval; grid flows are billed at the tariffs.
    event MemberSettled(
        uint32 indexed interval,
        address indexed member,
        uint64 selfSupplyWh,
        uint64 soldWh,
        uint64 boughtWh,
        uint64 gridExportWh,
        uint64 gridImportWh,
        uint256 paidCredits,
        uint256 receivedCredits
    );
    event PageSettled(uint32 indexed interval, uint32 page);
    event IntervalSettled(uint32 indexed interval);

    // ---------------------------------------------------------------- errors

    error MarketNotMember(address account);
    error MarketZeroAmount();
    error MarketInsufficientDeposit(address member, uint256 available, uint256 needed);
    error MarketInvalidPrice(uint64 limitPricePerKWh, uint64 maxPricePerKWh);
    error MarketInvalidIntervalRange(uint32 firstInterval, uint32 lastInterval);
    error MarketOrderExpired(uint32 lastInterval, uint32 nextInterval);
    error MarketOrderExists(address member, Side side, uint64 orderId);
    error MarketOrderNotFound(address member, Side side);
    error MarketInvalidTariff(uint64 retailPerKWh, uint64 feedInPerKWh);
    error MarketTariffNotInFuture(uint32 fromInterval, uint32 currentInterval);
    error MarketTariffBeforePending(uint32 fromInterval, uint32 pendingFromInterval);
    error MarketSignatureExpired(uint256 deadline);
    error MarketInvalidSigner(address member, address recovered);
    error MarketClearingInProgress(uint32 interval, Phase phase);
    error MarketWrongInterval(uint32 interval, uint32 nextInterval);
    error MarketIntervalNotReady(uint32 interval);
    error MarketWrongPhase(uint32 interval, Phase phase);
    error MarketHintNotParticipant(uint32 interval, address participant);
    error MarketHintDuplicate(uint32 interval, address participant);
    error MarketHintWrongTag(uint32 interval, address participant, Tag expected, Tag given);
    error MarketHintNotSorted(uint32 interval, address participant);
    error MarketHintTooMany(uint32 interval, uint32 participants);
    error MarketEmptyPage(uint32 interval);
    error MarketSettleMismatch(uint32 interval, uint32 page, bytes32 expected, bytes32 given);
    error MarketCallerNotRegistry(address caller);

    // ---------------------------------------------------------------- deposits

    /// @notice Deposit `amount` credits (approve first). Active members only.
    function deposit(uint256 amount) external;

    /// @notice Deposit with an ERC-2612 permit instead of an approval.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Withdraw `amount` credits. Waits while an interval is being cleared.
    function withdraw(uint256 amount) external;

    // ---------------------------------------------------------------- orders

    /// @notice Place the caller's standing order on `side`. Active members only; at most one live
    ///         order per side (an expired one is replaced).
    /// @return orderId the new order's id (ids only grow: earlier orders win price ties)
    function placeOrder(
        Side side,
        uint64 limitPricePerKWh,
        uint64 capWhPerInterval,
        uint32 firstInterval,
        uint32 lastInterval
    ) external returns (uint64 orderId);

    /// @notice Replace the caller's live order on `side`; the order gets a new id (and loses
    ///         its time priority).
    function updateOrder(
        Side side,
        uint64 limitPricePerKWh,
        uint64 capWhPerInterval,
        uint32 firstInterval,
        uint32 lastInterval
    ) external returns (uint64 orderId);

    /// @notice Cancel the caller's order on `side`.
    function cancelOrder(Side side) external;

    /// @notice Carry out an order action signed by `intent.member` (EIP-712, with the member's
    ///         next nonce and a deadline). Anyone may relay it.
    /// @return orderId the new order's id (0 for a cancel)
    function submitSignedOrder(OrderIntent calldata intent, bytes calldata signature) external returns (uint64 orderId);

    // ---------------------------------------------------------------- tariffs

    /// @notice Schedule retail and feed-in tariffs from `fromInterval` on, which must be in the
    ///         future. Requires `OPERATOR_ROLE`. A later call with the same `fromInterval`
    ///         replaces the pending change.
    function setTariffs(uint64 retailPerKWh, uint64 feedInPerKWh, uint32 fromInterval) external;

    // ---------------------------------------------------------------- clearing

    /// @notice Pass 1 of clearing `interval`: collect the next page of participants.
    /// @param hint participants in walk order, each tagged
    function collect(uint32 interval, HintItem[] calldata hint) external;

    /// @notice Pass 2: settle the next page, exactly the entries collected in the same page.
    function settle(uint32 interval, Entry[] calldata entries) external;

    /// @notice Pause deposits, withdrawals, orders and clearing. Requires `PAUSER_ROLE`.
    function pause() external;

    /// @notice Resume. Requires `PAUSER_ROLE`.
    function unpause() external;

    // ---------------------------------------------------------------- views

    function depositOf(address member) external view returns (uint256);

    function orderOf(address member, Side side) external view returns (Order memory);

    /// @notice Whether `order` takes part in `interval`.
    function isLive(Order memory order, uint32 interval) external pure returns (bool);

    function tariffAt(uint32 interval) external view returns (Tariff memory);

    function tariffs() external view returns (Tariff[] memory);

    /// @notice The next interval to clear (intervals are cleared in order).
    function nextInterval() external view returns (uint32);

    function intervalState(uint32 interval) external view returns (IntervalState memory);

    /// @notice The member's next nonce for signed orders.
    function nonces(address member) external view returns (uint256);

    /// @notice The wallet `account` migrated to in the market (zero if none).
    function successorOf(address account) external view returns (address);

    /// @notice Largest accepted limit price per kWh.
    function maxPricePerKWh() external view returns (uint64);
}
