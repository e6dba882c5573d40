// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IEnergyMarket} from "../IEnergyMarket.sol";
import {IMeterReadings} from "../../oracle/IMeterReadings.sol";

/// @title OrderBook
/// @notice Member accounts of the market: standing limit orders (one per member and side) and
///         deposits, both keyed by the member key (`ICommunityRegistry.memberKeyOf`), and both
///         frozen at interval boundaries: a change made during interval `c` (the current, not
///         yet ended interval) applies from `c` on, and every ended interval keeps the inputs in
///         force at its end (issue 14, items 2 and 3).
///         - Orders keep a history of versions per member and side, keyed by the interval they
///           apply from (a second change within the same interval overwrites the last version).
///         - Deposits keep a cumulative-deposits checkpoint per member: what a bid may spend in
///           an ended interval `t` is the deposit now minus what was deposited after `t` ended.
///         - Withdrawals wait only while the member has a buy order live in an ended interval
///           that is not settled yet (its money may still be spent there).
///         A linked (external) library for the writes, so that the market's bytecode stays under
///         the 24 KiB limit (also the signed-order check and tariff scheduling live here).
library OrderBook {
    using Checkpoints for Checkpoints.Trace224;

    /// @dev 1,000,000 credits (6 decimals) per kWh: anything above is a typo, not a price.
    uint64 internal constant MAX_PRICE_PER_KWH = 1_000_000_000_000;

    bytes32 private constant _ORDER_INTENT_TYPEHASH =
        keccak256(
            "OrderIntent(address member,uint8 action,uint8 side,uint64 limitPricePerKWh,uint64 capWhPerInterval,uint32 firstInterval,uint32 lastInterval,uint256 nonce,uint256 deadline)"
        );

    /// @dev An order version; a cancelled order is a version with `order.orderId == 0`.
    struct Version {
        uint32 fromInterval;
        IEnergyMarket.Order order;
    }

    struct Book {
        uint64 lastOrderId;
        mapping(address member => mapping(IEnergyMarket.Side side => Version[])) versions;
        mapping(address member => uint256) deposits;
        /// @dev Cumulative deposits by the interval they apply from (withdrawals not subtracted).
        mapping(address member => Checkpoints.Trace224) deposited;
        uint256 totalDeposits;
        /// @dev (interval + 1) << 32 | the interval's restart count when the member was collected.
        mapping(address member => uint64 mark) collected;
    }

    struct Params {
        IEnergyMarket.Side side;
        uint64 limitPricePerKWh;
        uint64 capWhPerInterval;
        uint32 firstInterval;
        uint32 lastInterval;
    }

    // ---------------------------------------------------------------- orders

    /// @notice Place (`replace` false) or replace (`replace` true) `member`'s order on a side,
    ///         from interval `current` on.
    /// @param current the current interval (not ended): orders ending before it are dead
    function set(
        Book storage book,
        address member,
        Params calldata p,
        uint32 current,
        bool replace
    ) external returns (uint64 orderId) {
        if (p.limitPricePerKWh == 0 || p.limitPricePerKWh > MAX_PRICE_PER_KWH) {
            revert IEnergyMarket.MarketInvalidPrice(p.limitPricePerKWh, MAX_PRICE_PER_KWH);
        }
        if (p.firstInterval > p.lastInterval) {
            revert IEnergyMarket.MarketInvalidIntervalRange(p.firstInterval, p.lastInterval);
        }
        if (p.lastInterval < current) revert IEnergyMarket.MarketOrderExpired(p.lastInterval, current);
        IEnergyMarket.Order memory o = latest(book, member, p.side);
        bool live = o.orderId != 0 && o.lastInterval >= current;
        if (replace) {
            if (!live) revert IEnergyMarket.MarketOrderNotFound(member, p.side);
            emit IEnergyMarket.OrderCancelled(member, p.side, o.orderId, current);
        } else if (live) {
            revert IEnergyMarket.MarketOrderExists(member, p.side, o.orderId);
        }
        orderId = ++book.lastOrderId;
        _write(
            book,
            member,
            p.side,
            current,
            IEnergyMarket.Order(orderId, p.limitPricePerKWh, p.capWhPerInterval, p.firstInterval, p.lastInterval)
        );
        emit IEnergyMarket.OrderPlaced(
            member,
            p.side,
            orderId,
            p.limitPricePerKWh,
            p.capWhPerInterval,
            p.firstInterval,
            p.lastInterval,
            current
        );
    }

    /// @notice Cancel `member`'s order on `side` from interval `current` on.
    function cancel(Book storage book, address member, IEnergyMarket.Side side, uint32 current) external {
        uint64 orderId = latest(book, member, side).orderId;
        if (orderId == 0) revert IEnergyMarket.MarketOrderNotFound(member, side);
        IEnergyMarket.Order memory none;
        _write(book, member, side, current, none);
        emit IEnergyMarket.OrderCancelled(member, side, orderId, current);
    }

    /// @notice The latest version of `member`'s order on `side` (zero if none or cancelled).
    function latest(
        Book storage book,
        address member,
        IEnergyMarket.Side side
    ) internal view returns (IEnergyMarket.Order memory o) {
        Version[] storage v = book.versions[member][side];
        uint256 n = v.length;
        if (n != 0) o = v[n - 1].order;
    }

    /// @notice The version of `member`'s order on `side` in force at (the end of) `interval`.
    function orderAt(
        Book storage book,
        address member,
        IEnergyMarket.Side side,
        uint32 interval
    ) public view returns (IEnergyMarket.Order memory o) {
        Version[] storage v = book.versions[member][side];
        uint256 hi = v.length;
        if (hi == 0) return o;
        if (v[hi - 1].fromInterval <= interval) return v[hi - 1].order;
        // The last version with fromInterval <= interval, by binary search.
        uint256 lo = 0;
        --hi;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (v[mid].fromInterval > interval) hi = mid;
            else lo = mid + 1;
        }
        if (lo != 0) o = v[lo - 1].order;
    }

    /// @notice Collects `member` once per pass 1 of `interval` (`restarts` tells passes apart),
    ///         checks the caller's `tag` and emits `EntryCollected`. The entry for metered position
    ///         `p`: its net export as an ask, or its affordable net import as a bid, from the
    ///         order and deposit in force at the end of `interval` (issue 14, items 2 and 3);
    ///         tag None without a live order on that side, or if `trades` is false (no net
    ///         position, or the member is not active). `available` is what a bid may spend.
    ///      `p` comes from an external call to MeterReadings, in memory: it cannot be calldata.
    // solhint-disable-next-line gas-calldata-parameters
    function collectEntry(
        Book storage book,
        address member,
        IEnergyMarket.Tag tag,
        uint32 interval,
        uint32 restarts,
        IMeterReadings.Position memory p,
        bool trades,
        uint64 retail,
        uint64 feedIn
    ) external returns (IEnergyMarket.Entry memory e) {
        uint64 mark = ((uint64(interval) + 1) << 32) | restarts;
        if (book.collected[member] == mark) revert IEnergyMarket.MarketHintDuplicate(interval, member);
        book.collected[member] = mark;
        uint256 available;
        (e, available) = _entry(book, member, interval, p, trades, retail, feedIn);
        if (e.tag != tag) revert IEnergyMarket.MarketHintWrongTag(interval, member, e.tag, tag);
        emit IEnergyMarket.EntryCollected(
            interval,
            member,
            e.tag,
            e.orderId,
            e.qtyWh,
            e.pricePerKWh,
            e.importWh,
            e.exportWh,
            available
        );
    }

    function _entry(
        Book storage book,
        address member,
        uint32 interval,
        IMeterReadings.Position memory p,
        bool trades,
        uint64 retail,
        uint64 feedIn
    ) private view returns (IEnergyMarket.Entry memory e, uint256 available) {
        e.member = member;
        e.importWh = p.importWh;
        e.exportWh = p.exportWh;
        if (!trades) return (e, 0);
        bool sells = p.exportWh > p.importWh;
        IEnergyMarket.Order memory o = orderAt(book, member, sells ? IEnergyMarket.Side.Sell : IEnergyMarket.Side.Buy, interval);
        if (o.orderId == 0 || o.firstInterval > interval || interval > o.lastInterval) return (e, 0);
        if (sells) {
            uint64 netExport = p.exportWh - p.importWh;
            e.qtyWh = o.capWhPerInterval == 0 || o.capWhPerInterval > netExport ? netExport : o.capWhPerInterval;
            e.pricePerKWh = o.limitPricePerKWh > feedIn ? o.limitPricePerKWh : feedIn;
            e.orderId = o.orderId;
            e.tag = IEnergyMarket.Tag.Ask;
        } else {
            uint64 netImport = p.importWh - p.exportWh;
            uint64 price = o.limitPricePerKWh < retail ? o.limitPricePerKWh : retail;
            available = availableAt(book, member, interval);
            uint256 qty = (available * 1000) / price;
            if (qty > netImport) qty = netImport;
            if (o.capWhPerInterval != 0 && qty > o.capWhPerInterval) qty = o.capWhPerInterval;
            if (qty != 0) {
                e.qtyWh = uint64(qty);
                e.pricePerKWh = price;
                e.orderId = o.orderId;
                e.tag = IEnergyMarket.Tag.Bid;
            }
        }
    }

    function _write(
        Book storage book,
        address member,
        IEnergyMarket.Side side,
        uint32 current,
        IEnergyMarket.Order memory o
    ) private {
        Version[] storage v = book.versions[member][side];
        uint256 n = v.length;
        if (n != 0 && v[n - 1].fromInterval == current) v[n - 1].order = o;
        else v.push(Version(current, o));
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Book a deposit of `amount` by `member` during interval `current`.
    function addDeposit(Book storage book, address member, uint256 amount, uint32 current) external {
        if (amount == 0) revert IEnergyMarket.MarketZeroAmount();
        book.deposits[member] += amount;
        book.totalDeposits += amount;
        Checkpoints.Trace224 storage d = book.deposited[member];
        d.push(current, SafeCast.toUint224(uint256(d.latest()) + amount));
        emit IEnergyMarket.Deposited(member, amount);
    }

    /// @notice Take `amount` out of `member`'s deposit (a withdrawal or a refund), unless it is
    ///         locked by an ended interval not settled yet (`next` .. `current - 1`).
    function takeDeposit(Book storage book, address member, uint256 amount, uint32 next, uint32 current) external {
        (bool locked, uint32 until) = lockedUntil(book, member, next, current);
        if (locked) revert IEnergyMarket.MarketDepositLocked(member, until);
        if (amount == 0) revert IEnergyMarket.MarketZeroAmount();
        uint256 available = book.deposits[member];
        if (amount > available) revert IEnergyMarket.MarketInsufficientDeposit(member, available, amount);
        book.deposits[member] = available - amount;
        book.totalDeposits -= amount;
        emit IEnergyMarket.Withdrawn(member, amount);
    }

    /// @notice Take `member`'s whole deposit out (its removal), unless it is locked.
    /// @return amount the deposit refunded (0 if none)
    function refund(Book storage book, address member, uint32 next, uint32 current) external returns (uint256 amount) {
        (bool locked, uint32 until) = lockedUntil(book, member, next, current);
        if (locked) revert IEnergyMarket.MarketDepositLocked(member, until);
        amount = book.deposits[member];
        if (amount != 0) {
            book.deposits[member] = 0;
            book.totalDeposits -= amount;
            emit IEnergyMarket.Withdrawn(member, amount);
        }
    }

    /// @notice Send the credits the market holds beyond the sum of deposits to `to`.
    function recoverSurplus(Book storage book, IERC20 credit, address to) external {
        uint256 amount = credit.balanceOf(address(this)) - book.totalDeposits;
        if (amount == 0) revert IEnergyMarket.MarketZeroAmount();
        SafeERC20.safeTransfer(credit, to, amount);
        emit IEnergyMarket.SurplusRecovered(to, amount);
    }

    /// @notice What `member`'s bid may spend in the ended interval `interval`: the deposit now
    ///         minus what it deposited after `interval` ended.
    function availableAt(Book storage book, address member, uint32 interval) public view returns (uint256) {
        Checkpoints.Trace224 storage d = book.deposited[member];
        uint256 later = uint256(d.latest()) - uint256(d.upperLookupRecent(interval));
        uint256 deposit = book.deposits[member];
        // Withdrawals wait while a bid may spend (lockedUntil), so deposit >= later whenever a
        // bid of `member` is live at `interval`; the floor only keeps the view total.
        return deposit > later ? deposit - later : 0;
    }

    /// @notice Whether `member`'s deposit is locked: it has a buy order live in an ended interval
    ///         not settled yet, i.e. in `next .. current - 1`; `until` is the last such interval.
    ///         The walk visits only the versions made since `next`.
    function lockedUntil(
        Book storage book,
        address member,
        uint32 next,
        uint32 current
    ) public view returns (bool locked, uint32 until) {
        if (current <= next) return (false, 0);
        Version[] storage v = book.versions[member][IEnergyMarket.Side.Buy];
        uint32 hiT = current - 1;
        for (uint256 i = v.length; i > 0; --i) {
            Version storage ver = v[i - 1];
            uint32 from = ver.fromInterval;
            if (from > hiT) continue; // applies from the current interval on
            IEnergyMarket.Order memory o = ver.order;
            if (o.orderId != 0) {
                uint32 a = o.firstInterval > from ? o.firstInterval : from;
                if (a < next) a = next;
                uint32 b = o.lastInterval < hiT ? o.lastInterval : hiT;
                if (a <= b) return (true, b);
            }
            if (from <= next) break;
            hiT = from - 1;
        }
    }

    // ---------------------------------------------------------------- signed orders, tariffs

    /// @notice Reverts `MarketInvalidSigner` unless `intent.member` signed `intent` (EIP-712 under
    ///         the market's `domainSeparator`). The nonce and deadline are the market's to check.
    function checkIntent(
        IEnergyMarket.OrderIntent calldata intent,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external pure {
        bytes32 digest = MessageHashUtils.toTypedDataHash(
            domainSeparator,
            keccak256(
                abi.encode(
                    _ORDER_INTENT_TYPEHASH,
                    intent.member,
                    intent.action,
                    intent.side,
                    intent.limitPricePerKWh,
                    intent.capWhPerInterval,
                    intent.firstInterval,
                    intent.lastInterval,
                    intent.nonce,
                    intent.deadline
                )
            )
        );
        (address recovered, , ) = ECDSA.tryRecover(digest, signature);
        if (recovered != intent.member || recovered == address(0)) {
            revert IEnergyMarket.MarketInvalidSigner(intent.member, recovered);
        }
    }

    /// @notice Schedule tariffs from `fromInterval` on (the first call, from the constructor, sets
    ///         the initial tariff from interval 0).
    function scheduleTariff(
        IEnergyMarket.Tariff[] storage tariffs,
        uint64 retailPerKWh,
        uint64 feedInPerKWh,
        uint32 fromInterval,
        uint32 current,
        uint32 next
    ) external {
        if (retailPerKWh == 0 || retailPerKWh > MAX_PRICE_PER_KWH || feedInPerKWh > retailPerKWh) {
            revert IEnergyMarket.MarketInvalidTariff(retailPerKWh, feedInPerKWh);
        }
        uint256 n = tariffs.length;
        if (n != 0) {
            if (fromInterval <= current || fromInterval < next) {
                revert IEnergyMarket.MarketTariffNotInFuture(fromInterval, current);
            }
            IEnergyMarket.Tariff storage last = tariffs[n - 1];
            if (fromInterval < last.fromInterval) {
                revert IEnergyMarket.MarketTariffBeforePending(fromInterval, last.fromInterval);
            }
            if (fromInterval == last.fromInterval) {
                last.retailPerKWh = retailPerKWh;
                last.feedInPerKWh = feedInPerKWh;
                emit IEnergyMarket.TariffScheduled(fromInterval, retailPerKWh, feedInPerKWh);
                return;
            }
        }
        tariffs.push(IEnergyMarket.Tariff(fromInterval, retailPerKWh, feedInPerKWh));
        emit IEnergyMarket.TariffScheduled(fromInterval, retailPerKWh, feedInPerKWh);
    }
}
