// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {IMigrationHook} from "../identity/IMigrationHook.sol";
import {IMeterReadings} from "../oracle/IMeterReadings.sol";
import {IEnergyMarket} from "./IEnergyMarket.sol";
import {ClearingWalk} from "./lib/ClearingWalk.sol";
import {OrderBook} from "./lib/OrderBook.sol";
import {Roles} from "../lib/Roles.sol";

/// @title EnergyMarket
/// @notice Order book, deposits, tariffs and the two-pass paged clearing of GridLedger.
/// @dev Invariants:
///      - `credit.balanceOf(this) == sum(deposits) + surplusCredits()`, `totalDeposits ==
///        sum(deposits)` (deposits, withdrawals and settlement move credits between members
///        inside this sum; credits sent by plain transfer are surplus, recoverable by governance);
///      - accounts are keyed by member key; an ended interval's orders and deposits are frozen;
///      - intervals are cleared strictly in order: `_next` only grows, by one per settled
///        interval; an interval's pass 2 replays exactly the entries hashed in its pass 1;
///      - every trade price is the floor of the midpoint of the competitive equilibrium range,
///        which lies between a matched ask >= feed-in and a matched bid <= retail
///        (ClearingWalk.clearingPrice), hence within [feed-in, retail].
contract EnergyMarket is IEnergyMarket, IMigrationHook, EIP712 {
    using ClearingWalk for ClearingWalk.State;

    struct Page {
        bytes32 checkpoint;
        uint32 count;
    }

    uint32 private constant MAX_MIN_COLLECT_PAGE = 256;

    ICommunityRegistry private immutable _registry;
    IMeterReadings private immutable _readings;
    IERC20 private immutable _credit;
    /// @dev The readings contract's clock, copied at construction (both immutable there): the
    ///      current interval costs no external call.
    uint64 private immutable _marketStart;
    uint32 private immutable _intervalSeconds;

    uint32 private _next;
    /// @dev A collect page holds at least min(remaining participants, this): an outsider cannot
    ///      force one settle transaction per participant with 1-entry pages.
    uint32 private _minCollectPage = 32;
    /// @dev The number of the current collection pass (pass 1 of `_next`), counted over the
    ///      market's life: one more each time a collection opens or restarts. A member key's
    ///      record keeps the pass that last collected it (one entry per member and pass). 2^32
    ///      passes: one an interval for 122,000 years at 15 minutes, and a restart needs a page
    ///      of at least `_minCollectPage` entries, so the checked increment cannot be reached.
    uint32 private _round;
    OrderBook.Book private _book;
    Tariff[] private _tariffs;
    mapping(uint32 interval => IntervalState) private _intervals;
    mapping(uint32 interval => mapping(uint32 page => Page)) private _pages;
    ClearingWalk.State private _collectWalk;
    ClearingWalk.State private _settleWalk;

    /// @param registry_ members, roles
    /// @param readings_ metered positions per interval and the clock
    /// @param credit_ the payment token
    /// @param retailPerKWh initial retail (backup) tariff
    /// @param feedInPerKWh initial feed-in tariff
    /// @param firstInterval the first interval this market clears
    constructor(
        ICommunityRegistry registry_,
        IMeterReadings readings_,
        IERC20 credit_,
        uint64 retailPerKWh,
        uint64 feedInPerKWh,
        uint32 firstInterval
    ) EIP712("GridLedger EnergyMarket", "1") {
        _registry = registry_;
        _readings = readings_;
        _credit = credit_;
        _marketStart = readings_.marketStart();
        _intervalSeconds = readings_.intervalSeconds();
        OrderBook.scheduleTariff(_tariffs, retailPerKWh, feedInPerKWh, 0, 0, 0);
        _next = firstInterval;
    }

    // ---------------------------------------------------------------- deposits

    /// @inheritdoc IEnergyMarket
    function deposit(uint256 amount) public whenNotPaused {
        OrderBook.addDeposit(_book, _activeKey(msg.sender), amount, _current(), _credit);
    }

    /// @inheritdoc IEnergyMarket
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        // A front-run permit has already set the allowance: go on with the deposit.
        OrderBook.permit(_credit, amount, deadline, v, r, s);
        deposit(amount);
    }

    /// @inheritdoc IEnergyMarket
    function withdraw(uint256 amount) external whenNotPaused {
        address key = _key(msg.sender);
        // Only the member's current wallet (active or suspended) speaks for its account.
        if (_wallet(key) != msg.sender) revert MarketNotMember(msg.sender);
        OrderBook.takeDeposit(_book, key, amount, _next, _current(), _credit);
    }

    // ---------------------------------------------------------------- orders

    /// @inheritdoc IEnergyMarket
    function placeOrder(
        Side side,
        uint64 limitPricePerKWh,
        uint64 capWhPerInterval,
        uint32 firstInterval,
        uint32 lastInterval
    ) external whenNotPaused returns (uint64) {
        return _setOrder(msg.sender, OrderBook.Params(side, limitPricePerKWh, capWhPerInterval, firstInterval, lastInterval), false);
    }

    /// @inheritdoc IEnergyMarket
    function updateOrder(
        Side side,
        uint64 limitPricePerKWh,
        uint64 capWhPerInterval,
        uint32 firstInterval,
        uint32 lastInterval
    ) external whenNotPaused returns (uint64) {
        return _setOrder(msg.sender, OrderBook.Params(side, limitPricePerKWh, capWhPerInterval, firstInterval, lastInterval), true);
    }

    /// @inheritdoc IEnergyMarket
    function cancelOrder(Side side) external whenNotPaused {
        _cancel(msg.sender, side);
    }

    /// @inheritdoc IEnergyMarket
    function submitSignedOrder(
        OrderIntent calldata intent,
        bytes calldata signature
    ) external whenNotPaused returns (uint64 orderId) {
        if (block.timestamp > intent.deadline) revert MarketSignatureExpired(intent.deadline);
        // Placing or replacing needs an active member, cancelling the member's current wallet; the
        // library checks it after the signature and the nonce (so that a wrong signature or nonce
        // is reported as such).
        return OrderBook.submitIntent(_book, intent, signature, _domainSeparatorV4(), _current());
    }

    // ---------------------------------------------------------------- tariffs

    /// @inheritdoc IEnergyMarket
    function setTariffs(
        uint64 retailPerKWh,
        uint64 feedInPerKWh,
        uint32 fromInterval
    ) external {
        _onlyRole(Roles.OPERATOR);
        OrderBook.scheduleTariff(_tariffs, retailPerKWh, feedInPerKWh, fromInterval, _current(), _next);
    }

    // ---------------------------------------------------------------- clearing

    /// @inheritdoc IEnergyMarket
    function collect(uint32 interval, HintItem[] calldata hint) external whenNotPaused {
        if (interval != _next) revert MarketWrongInterval(interval, _next);
        IntervalState storage st = _intervals[interval];
        if (st.phase == Phase.Open) {
            if (_openCollection(interval, st, hint.length)) return;
        } else if (st.phase != Phase.Collecting) {
            revert MarketWrongPhase(interval, st.phase);
        }
        if (hint.length == 0) revert MarketEmptyPage(interval);
        if (st.collected + hint.length > st.participants) revert MarketHintTooMany(interval, st.participants);
        {
            uint256 remaining = st.participants - st.collected;
            uint256 minimum = remaining < _minCollectPage ? remaining : _minCollectPage;
            if (hint.length < minimum) revert MarketPageTooSmall(interval, hint.length, minimum);
        }

        ClearingWalk.State memory walk = _collectWalk;
        bytes32 h = st.pagesCollected == 0 ? bytes32(0) : _pages[interval][st.pagesCollected - 1].checkpoint;
        uint64 retail = st.retailPerKWh;
        uint64 feedIn = st.feedInPerKWh;
        uint32 round = _round;
        for (uint256 i = 0; i < hint.length; ++i) {
            Entry memory e = OrderBook.collectEntry(_book, _readings, hint[i].participant, hint[i].tag, interval, round, retail, feedIn);
            h = _chain(h, e);
            if (!_admit(walk, e)) {
                // A genuine entry the walk refuses. If the state the earlier pages left refuses it
                // too (its side closed, or an entry after it admitted), those pages were wrong:
                // anyone may send a page, so start the collection again instead of freezing
                // (docs/reliability.md, section 9). Otherwise this page is wrong: revert.
                ClearingWalk.State memory start = _collectWalk;
                if (_admit(start, e)) revert MarketHintNotSorted(interval, hint[i].participant);
                st.collected = 0;
                st.pagesCollected = 0;
                ++st.restarts;
                ++_round;
                delete _collectWalk;
                emit CollectionRestarted(interval, st.restarts, msg.sender, hint[i].participant);
                return;
            }
            // Fills are only counted here (pass 2 books them): advance the walk until it stops.
            // solhint-disable-next-line no-empty-blocks
            while (walk.nextFill() != 0) {}
        }
        // hint.length <= participants (a uint32) was checked above.
        st.collected += uint32(hint.length);
        _pages[interval][st.pagesCollected] = Page(h, uint32(hint.length));
        emit PageCollected(interval, st.pagesCollected, st.collected, h);
        ++st.pagesCollected;

        if (st.collected == st.participants) {
            st.pricePerKWh = walk.clearingPrice();
            st.matchedWh = walk.matchedWh;
            st.phase = Phase.Settling;
            delete _collectWalk;
            delete _settleWalk;
            emit IntervalCleared(interval, st.pricePerKWh, walk.matchedWh, retail, feedIn, st.participants);
        } else {
            _collectWalk = walk;
        }
    }

    /// @dev Closes the readings of `interval` and fixes its tariff and participants; an interval
    ///      without participants clears empty and closes at once (returns true: nothing to collect).
    function _openCollection(uint32 interval, IntervalState storage st, uint256 hintLength) private returns (bool) {
        if (!_readings.isReady(interval)) revert MarketIntervalNotReady(interval);
        _readings.closeInterval(interval);
        Tariff memory tariff = _tariffAt(interval);
        st.retailPerKWh = tariff.retailPerKWh;
        st.feedInPerKWh = tariff.feedInPerKWh;
        st.participants = uint32(_readings.participantCount(interval));
        st.phase = Phase.Collecting;
        ++_round;
        delete _collectWalk;
        if (st.participants != 0) return false;
        if (hintLength != 0) revert MarketHintTooMany(interval, 0);
        emit IntervalCleared(interval, 0, 0, tariff.retailPerKWh, tariff.feedInPerKWh, 0);
        _closeInterval(interval, st);
        return true;
    }

    /// @inheritdoc IEnergyMarket
    function settle(uint32 interval, Entry[] calldata entries) external whenNotPaused {
        if (interval != _next) revert MarketWrongInterval(interval, _next);
        IntervalState storage st = _intervals[interval];
        if (st.phase != Phase.Settling) revert MarketWrongPhase(interval, st.phase);
        uint32 k = st.pagesSettled;
        _checkPage(interval, k, entries);

        ClearingWalk.State memory walk = _settleWalk;
        uint64 price = st.pricePerKWh;
        for (uint256 i = 0; i < entries.length; ++i) {
            Entry calldata e = entries[i];
            ClearingWalk.Cur memory cur = _cur(e);
            if (e.tag == Tag.None) {
                _finish(interval, cur, Tag.None);
            } else {
                // The order was checked when the page was collected and the page is unchanged.
                (, ClearingWalk.Cur memory previous) = e.tag == Tag.Ask ? walk.admitAsk(cur) : walk.admitBid(cur);
                if (previous.present) _finish(interval, previous, e.tag);
            }
            _fills(interval, walk, price);
        }
        ++k;
        st.pagesSettled = k;
        emit PageSettled(interval, k - 1);
        if (k == st.pagesCollected) {
            if (walk.ask.present) _finish(interval, walk.ask, Tag.Ask);
            if (walk.bid.present) _finish(interval, walk.bid, Tag.Bid);
            delete _settleWalk;
            _closeInterval(interval, st);
        } else {
            _settleWalk = walk;
        }
    }

    /// @inheritdoc IEnergyMarket
    function setMinCollectPage(uint32 minimum) external {
        _onlyRole(Roles.OPERATOR);
        if (minimum == 0 || minimum > MAX_MIN_COLLECT_PAGE) revert MarketInvalidMinCollectPage(minimum, MAX_MIN_COLLECT_PAGE);
        emit MinCollectPageChanged(_minCollectPage, minimum);
        _minCollectPage = minimum;
    }

    /// @inheritdoc IEnergyMarket
    function minCollectPage() external view returns (uint32) {
        return _minCollectPage;
    }

    /// @inheritdoc IEnergyMarket
    function recoverSurplus(address to) external {
        _onlyRole(Roles.DEFAULT_ADMIN);
        OrderBook.recoverSurplus(_book, _credit, to);
    }

    /// @inheritdoc IEnergyMarket
    function pause() external {
        _onlyRole(Roles.PAUSER);
        _requireNotPaused();
        _book.paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IEnergyMarket
    function unpause() external {
        _onlyRole(Roles.PAUSER);
        if (!_book.paused) revert ExpectedPause();
        _book.paused = false;
        emit Unpaused(msg.sender);
    }

    /// @inheritdoc IEnergyMarket
    function paused() external view returns (bool) {
        return _book.paused;
    }

    /// @inheritdoc IMigrationHook
    /// @dev Accounts are keyed by the member key: nothing moves, the event only reports.
    function onMemberMigrated(address oldWallet, address newWallet) external {
        _onlyRegistry();
        emit AccountMigrated(oldWallet, newWallet, _book.deposits[_key(newWallet)] & OrderBook.DEPOSIT_MASK);
    }

    /// @inheritdoc IMigrationHook
    /// @dev Not while an interval is being collected (the operator retries once it settles).
    function beforeMemberReinstated(address) external view {
        if (_intervals[_next].phase == Phase.Collecting) revert MarketClearingInProgress(_next, Phase.Collecting);
    }

    /// @inheritdoc IMigrationHook
    /// @dev Copies the registry's record of `wallet` (`OrderBook.syncMember`). Anyone may call it
    ///      while the market is one of the registry's migration hooks (it only copies the
    ///      registry, and the registry tells the market of every later change); a market that is
    ///      not a hook keeps no copy, which could go stale.
    function onMemberChanged(address wallet) external {
        OrderBook.syncMember(_book, _registry, wallet);
    }

    /// @inheritdoc IMigrationHook
    /// @dev Refuses while the member's deposit is locked (`MarketDepositLocked`); otherwise
    ///      refunds the whole deposit to the member's wallet (`Withdrawn`), so nothing is lost.
    function beforeMemberRemoved(address member) external {
        _onlyRegistry();
        OrderBook.refund(_book, _key(member), _next, _current(), _credit, member);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IEnergyMarket
    function depositOf(address member) external view returns (uint256) {
        return _book.deposits[_key(member)] & OrderBook.DEPOSIT_MASK;
    }

    /// @inheritdoc IEnergyMarket
    function orderOf(address member, Side side) external view returns (Order memory) {
        // The latest version applies from an interval <= the current one.
        return _orderAt(_key(member), side, _current());
    }

    /// @inheritdoc IEnergyMarket
    function orderAt(address member, Side side, uint32 interval) external view returns (Order memory) {
        return _orderAt(_key(member), side, interval);
    }

    /// @inheritdoc IEnergyMarket
    function availableAt(address member, uint32 interval) external view returns (uint256) {
        return _availableAt(_key(member), interval);
    }

    /// @inheritdoc IEnergyMarket
    function totalDeposits() external view returns (uint256) {
        return _book.totalDeposits;
    }

    /// @inheritdoc IEnergyMarket
    function surplusCredits() external view returns (uint256) {
        return _credit.balanceOf(address(this)) - _book.totalDeposits;
    }

    /// @inheritdoc IEnergyMarket
    function tariffAt(uint32 interval) external view returns (Tariff memory) {
        return _tariffAt(interval);
    }

    /// @inheritdoc IEnergyMarket
    function tariffs() external view returns (Tariff[] memory) {
        return _tariffs;
    }

    /// @inheritdoc IEnergyMarket
    function nextInterval() external view returns (uint32) {
        return _next;
    }

    /// @inheritdoc IEnergyMarket
    function intervalState(uint32 interval) external view returns (IntervalState memory) {
        return _intervals[interval];
    }

    /// @inheritdoc IEnergyMarket
    function nonces(address member) external view returns (uint256) {
        return OrderBook.nonceOf(_book, member);
    }

    /// @inheritdoc IEnergyMarket
    function maxPricePerKWh() external pure returns (uint64) {
        return OrderBook.MAX_PRICE_PER_KWH;
    }

    // ---------------------------------------------------------------- internal: orders

    /// @dev Places (`replace` false) or replaces (`replace` true) a member's order on a side.
    function _setOrder(address member, OrderBook.Params memory p, bool replace) private returns (uint64) {
        return OrderBook.set(_book, _activeKey(member), p, _current(), replace);
    }

    /// @dev Only the member's current wallet (active or suspended) cancels: not a wallet the
    ///      member migrated away from (a lost or stolen key).
    function _cancel(address member, Side side) private {
        uint256 m = _book.members[member];
        if (m & OrderBook.MEMBER_CURRENT == 0) revert MarketNotMember(member);
        OrderBook.cancel(_book, address(uint160(m)), side, _current());
    }

    // ---------------------------------------------------------------- internal: clearing

    /// @dev `keccak256(abi.encode(h, e))` without allocating memory: an `Entry` has static
    ///      fields only, so its memory image is its ABI encoding (seven clean words), hashed
    ///      after `h` in the free memory the encoding would have taken.
    function _chain(bytes32 h, Entry memory e) private pure returns (bytes32 r) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, h)
            for { let i := 0 } lt(i, 0xe0) { i := add(i, 0x20) } {
                mstore(add(add(p, 0x20), i), mload(add(e, i)))
            }
            r := keccak256(p, 0x100)
        }
    }

    /// @dev `keccak256(abi.encode(h, e))` of a calldata entry as its raw seven words: an entry
    ///      whose words are not clean (an address or enum with stray high bits) hashes to
    ///      something else than the clean entry `collect` hashed, so it fails the page check
    ///      before any field of it is used.
    function _chainCalldata(bytes32 h, Entry calldata e) private pure returns (bytes32 r) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, h)
            calldatacopy(add(p, 0x20), e, 0xe0)
            r := keccak256(p, 0x100)
        }
    }

    /// @dev Admits `e` to the walk; false if the walk refuses it.
    function _admit(ClearingWalk.State memory walk, Entry memory e) private pure returns (bool ok) {
        if (e.tag == Tag.None) return true;
        ClearingWalk.Cur memory cur = ClearingWalk.Cur(
            e.member,
            e.orderId,
            e.pricePerKWh,
            e.qtyWh,
            e.qtyWh,
            e.importWh,
            e.exportWh,
            true,
            0
        );
        (ok, ) = e.tag == Tag.Ask ? ClearingWalk.admitAsk(walk, cur) : ClearingWalk.admitBid(walk, cur);
    }

    function _cur(Entry calldata e) private pure returns (ClearingWalk.Cur memory) {
        return ClearingWalk.Cur(e.member, e.orderId, e.pricePerKWh, e.qtyWh, e.qtyWh, e.importWh, e.exportWh, true, 0);
    }

    function _checkPage(uint32 interval, uint32 k, Entry[] calldata entries) private view {
        Page storage page = _pages[interval][k];
        bytes32 h = k == 0 ? bytes32(0) : _pages[interval][k - 1].checkpoint;
        for (uint256 i = 0; i < entries.length; ++i) {
            h = _chainCalldata(h, entries[i]);
        }
        if (entries.length != page.count || h != page.checkpoint) {
            revert MarketSettleMismatch(interval, k, page.checkpoint, h);
        }
    }

    /// @dev Matches what can be matched now, paying each fill at the uniform price.
    function _fills(uint32 interval, ClearingWalk.State memory walk, uint64 price) private {
        uint64 wh;
        uint64 before = walk.matchedWh;
        while ((wh = walk.nextFill()) != 0) {
            uint256 credits = _fillCredits(before, wh, price);
            before = walk.matchedWh;
            walk.ask.credits += credits;
            walk.bid.credits += credits;
            emit Traded(interval, walk.ask.member, walk.bid.member, wh, price, credits);
        }
    }

    /// @dev What a fill costs: `ClearingWalk.fillCredits` (cumulative rounding, docs/market-rule.md).
    ///      Virtual only so that the auditor's tests can deploy a deliberately wrong market
    ///      (contracts/mocks).
    function _fillCredits(uint64 matchedBeforeWh, uint64 wh, uint64 price) internal pure virtual returns (uint256) {
        return ClearingWalk.fillCredits(matchedBeforeWh, wh, price);
    }

    /// @dev Books a member's whole result for the interval. `MemberSettled` retires its export
    ///      (self-supply + sold + grid export): no token was minted for it (issue 16).
    function _finish(uint32 interval, ClearingWalk.Cur memory c, Tag tag) private {
        // Locals, not a memory struct: settle runs this once per member, and memory only grows
        // within a transaction.
        address member = c.member;
        uint64 selfSupplyWh = c.importWh < c.exportWh ? c.importWh : c.exportWh;
        uint64 traded = c.qty - c.rem;
        uint64 soldWh;
        uint64 boughtWh;
        uint256 paidCredits;
        uint256 receivedCredits;
        if (tag == Tag.Ask) {
            soldWh = traded;
            receivedCredits = c.credits;
            // The deposit's low bits; below totalDeposits < 2^224 (OrderBook.DEPOSIT_MASK), so
            // the interval bits above them never change.
            _book.deposits[member] += receivedCredits;
        } else if (tag == Tag.Bid) {
            boughtWh = traded;
            paidCredits = c.credits;
            // Affordability at collection and no withdrawal until settled keep the deposit's
            // low bits >= the credits: no borrow from the interval bits.
            _book.deposits[member] -= paidCredits;
        }
        emit MemberSettled(
            interval,
            member,
            selfSupplyWh,
            soldWh,
            boughtWh,
            c.exportWh - selfSupplyWh - soldWh,
            c.importWh - selfSupplyWh - boughtWh,
            paidCredits,
            receivedCredits
        );
    }

    function _closeInterval(uint32 interval, IntervalState storage st) private {
        st.phase = Phase.Settled;
        ++_next;
        emit IntervalSettled(interval);
    }

    // ---------------------------------------------------------------- internal: misc

    function _key(address account) private view returns (address) {
        return _registry.memberKeyOf(account);
    }

    function _wallet(address key) private view returns (address) {
        return _registry.walletOf(key);
    }

    /// @dev `IMeterReadings.currentInterval`, computed here from the same immutable clock.
    function _current() private view returns (uint32) {
        if (block.timestamp < _marketStart) return 0;
        return uint32((block.timestamp - _marketStart) / _intervalSeconds);
    }

    function _orderAt(address key, Side side, uint32 interval) private view returns (Order memory) {
        return OrderBook.orderAt(_book, key, side, interval);
    }

    function _availableAt(address key, uint32 interval) private view returns (uint256) {
        return OrderBook.availableAt(_book, key, interval);
    }

    /// @dev The pause flag shares its slot with the order-id counter (`OrderBook.Book`): the check
    ///      warms the slot that placing an order then updates.
    modifier whenNotPaused() {
        _requireNotPaused();
        _;
    }

    function _requireNotPaused() private view {
        if (_book.paused) revert EnforcedPause();
    }

    function _onlyRole(bytes32 role) private view {
        if (!_registry.hasRole(role, msg.sender)) revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
    }

    function _onlyRegistry() private view {
        if (msg.sender != address(_registry)) revert MarketCallerNotRegistry(msg.sender);
    }

    /// @dev The member key of `account`, an active member by the market's copy of the registry
    ///      (`onMemberChanged`): one slot read, no call to the registry.
    function _activeKey(address account) private view returns (address) {
        uint256 m = _book.members[account];
        if (m & OrderBook.MEMBER_ACTIVE == 0) revert MarketNotMember(account);
        return address(uint160(m));
    }


    function _tariffAt(uint32 interval) private view returns (Tariff memory) {
        uint256 i = _tariffs.length;
        while (i > 1 && _tariffs[i - 1].fromInterval > interval) --i;
        return _tariffs[i - 1];
    }
}
