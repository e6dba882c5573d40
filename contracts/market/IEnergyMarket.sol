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
///            (`IntervalCleared`). A wrong hint reverts; it cannot change the outcome. A genuine
///            entry that the pages collected so far refuse (they closed its side, or admitted
///            a later order of its side) proves those pages wrong: pass 1 starts again
///            (`CollectionRestarted`) instead of reverting, so no caller can freeze `t`.
///         2. `settle(t, entries)`: the caller passes the collected entries back, page by page
///            as they were collected; the contract checks them against the hash of pass 1,
///            replays the walk with the price, moves credits (buyer -> seller), and emits
///            `Traded` per fill and `MemberSettled` per member, which retires every Wh the
///            member exported in `t` (no energy token is minted or burnt: issue 16).
///         An interval's inputs are frozen at its end boundary: orders and deposits changed
///         during interval c apply from c on, so nothing a member does can change what an
///         ended interval clears (or make a keeper's hint stale). Withdrawals wait only while the
///         member has a buy order live in an ended interval not settled yet. Accounts (orders,
///         deposits, positions, events) are keyed by the member key (the first wallet,
///         `ICommunityRegistry.memberKeyOf`): a wallet migration moves nothing here.
///         Intervals are cleared strictly in order, each exactly once.
/// @dev Invariants: credit balance of this contract == sum of deposits + surplus credits; energy retired for an
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
        /// @dev How often pass 1 started again (`CollectionRestarted`).
        uint32 restarts;
    }

    // ---------------------------------------------------------------- events

    event Deposited(address indexed member, uint256 amount);
    event Withdrawn(address indexed member, uint256 amount);
    /// @notice An order version: in force from interval `fromInterval` (the interval current
    ///         when it was placed) on, for the intervals `firstInterval..lastInterval`.
    event OrderPlaced(
        address indexed member,
        Side indexed side,
        uint64 indexed orderId,
        uint64 limitPricePerKWh,
        uint64 capWhPerInterval,
        uint32 firstInterval,
        uint32 lastInterval,
        uint32 fromInterval
    );
    /// @notice The order is out of force from interval `fromInterval` on (ended intervals keep it).
    event OrderCancelled(address indexed member, Side indexed side, uint64 indexed orderId, uint32 fromInterval);
    /// @notice The smallest collect page (below the participants left) changed.
    /// @notice Deposits, withdrawals, orders and clearing were paused (resp. resumed) by `account`
    ///         (the events and errors of OpenZeppelin's `Pausable`).
    event Paused(address account);
    event Unpaused(address account);
    /// @notice The smallest collect page (below the participants left) changed.
    event MinCollectPageChanged(uint32 oldMinimum, uint32 newMinimum);
    /// @notice Governance took the credits sent to the market outside deposits.
    event SurplusRecovered(address indexed to, uint256 amount);
    event TariffScheduled(uint32 indexed fromInterval, uint64 retailPerKWh, uint64 feedInPerKWh);
    /// @notice A member migrated to a new wallet. Its account (deposit, orders) is keyed by its
    ///         member key and does not move; `deposit` is the deposit at the migration.
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
    /// @notice Pass 1 of `interval` started again from the first participant: `participant`'s
    ///         genuine entry (sent by `by`) proved the pages collected so far wrong (a side closed
    ///         while it still had orders, or an order admitted ahead of a better one). Entries and
    ///         pages collected before this event no longer count; `restarts` is the new count.
    event CollectionRestarted(uint32 indexed interval, uint32 restarts, address indexed by, address participant);
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
    ///         It is also the retirement of the member's export in `interval`: `selfSupplyWh +
    ///         soldWh + gridExportWh` == the exported Wh of its position (`IMeterReadings.
    ///         positionOf`), consumed by itself, by buyers (`Traded`) and by the grid.
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

    /// @notice A signed intent's nonce is not the member's next one (OpenZeppelin `Nonces`' error).
    error InvalidAccountNonce(address account, uint256 currentNonce);
    /// @notice A credit transfer of a deposit, withdrawal or refund failed (OpenZeppelin
    ///         `SafeERC20`'s error, raised in the `OrderBook` library).
    error SafeERC20FailedOperation(address token);
    /// @notice A deposit would take the market's total deposits (or the member's cumulative
    ///         deposits) to 2^224 or beyond (OpenZeppelin `SafeCast`'s error, raised in the
    ///         `OrderBook` library; a deposit slot holds 224 bits of credits).
    error SafeCastOverflowedUintDowncast(uint8 bits, uint256 value);
    error EnforcedPause();
    error ExpectedPause();
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
    /// @notice The member has a buy order live in an ended interval not settled yet: its deposit
    ///         may still be spent there. Withdraw once `untilInterval` is settled.
    error MarketDepositLocked(address member, uint32 untilInterval);
    /// @notice A collect page must hold at least min(remaining participants, minCollectPage()).
    error MarketPageTooSmall(uint32 interval, uint256 given, uint256 minimum);
    error MarketInvalidMinCollectPage(uint32 minimum, uint32 maxMinimum);

    // ---------------------------------------------------------------- deposits

    /// @notice Deposit `amount` credits (approve first). Active members only. The deposit counts
    ///         for the current interval and later ones, never for an interval already ended.
    function deposit(uint256 amount) external;

    /// @notice Deposit with an ERC-2612 permit instead of an approval.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Withdraw `amount` credits, in any phase, also while suspended; refused
    ///         (`MarketDepositLocked`) only while the member has a buy order live in an ended
    ///         interval that is not settled yet.
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

    /// @notice Cancel the caller's order on `side` (from the current interval on: intervals that
    ///         have ended keep the order in force at their end).
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

    /// @notice Whether the market is paused.
    function paused() external view returns (bool);

    /// @notice Set the smallest collect page: a page must list at least min(participants left,
    ///         `minimum`), so that nobody can force one settle transaction per participant with
    ///         1-entry pages. 1 <= `minimum` <= 256 (default 32). Requires `OPERATOR_ROLE`.
    function setMinCollectPage(uint32 minimum) external;

    /// @notice The smallest collect page (see `setMinCollectPage`).
    function minCollectPage() external view returns (uint32);

    /// @notice Send the surplus credits (held beyond the sum of deposits, e.g. donated by a plain
    ///         transfer) to `to`. Requires `DEFAULT_ADMIN_ROLE` (governance).
    function recoverSurplus(address to) external;

    // ---------------------------------------------------------------- views
    // `member` in the views may be the member key or any wallet the member ever had.

    function depositOf(address member) external view returns (uint256);

    /// @notice The latest version of the member's order on `side` (in force from the current
    ///         interval on).
    function orderOf(address member, Side side) external view returns (Order memory);

    /// @notice The member's order on `side` in force at the end of `interval` (what clearing
    ///         `interval` uses).
    function orderAt(address member, Side side, uint32 interval) external view returns (Order memory);

    /// @notice What the member's bid may spend in the ended interval `interval`: its deposit now
    ///         minus what it deposited after `interval` ended.
    function availableAt(address member, uint32 interval) external view returns (uint256);

    /// @notice Sum of all deposits.
    function totalDeposits() external view returns (uint256);

    /// @notice Credits held beyond the sum of deposits (recoverable by governance).
    function surplusCredits() external view returns (uint256);

    function tariffAt(uint32 interval) external view returns (Tariff memory);

    function tariffs() external view returns (Tariff[] memory);

    /// @notice The next interval to clear (intervals are cleared in order).
    function nextInterval() external view returns (uint32);

    function intervalState(uint32 interval) external view returns (IntervalState memory);

    /// @notice The member's next nonce for signed orders.
    function nonces(address member) external view returns (uint256);


    /// @notice Largest accepted limit price per kWh.
    function maxPricePerKWh() external view returns (uint64);
}
