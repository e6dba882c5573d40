// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IEnergyMarket} from "../IEnergyMarket.sol";
import {IMeterReadings} from "../../oracle/IMeterReadings.sol";
import {ICommunityRegistry} from "../../identity/ICommunityRegistry.sol";

/// @title OrderBook
/// @notice Member accounts of the market: standing limit orders (one per member and side) and
///         deposits, both keyed by the member key (`ICommunityRegistry.memberKeyOf`), and both
///         frozen at interval boundaries: a change made during interval `c` (the current, not
///         yet ended interval) applies from `c` on, and every ended interval keeps the inputs in
///         force at its end (issue 14, items 2 and 3).
///         - Orders keep a history of versions per member and side, keyed by the interval they
///           apply from (a second change within the same interval overwrites the last version).
///           A version is one packed slot (`_pack`): the latest in `head`, older ones in `past`
///           (oldest first), so a member's first order writes one new slot and a change within the
///           same interval rewrites it; a change in a later interval moves the old head to `past`.
///         - Deposits keep a cumulative-deposits checkpoint per member: what a bid may spend in
///           an ended interval `t` is the deposit now minus what was deposited after `t` ended.
///         - Withdrawals wait only while the member has a buy order live in an ended interval
///           that is not settled yet (its money may still be spent there).
///         Placing and replacing orders, by transaction or by a signed intent (`submitIntent`:
///         signature, nonce, action), are internal (compiled into the market: no DELEGATECALL on
///         the hot paths); cancelling, deposits, collection, the member copy (`syncMember`) and
///         tariff scheduling are external (a linked library) so that the market's bytecode stays
///         under the 24 KiB limit.
library OrderBook {
    using Checkpoints for Checkpoints.Trace224;

    /// @dev 1,000,000 credits (6 decimals) per kWh: anything above is a typo, not a price.
    uint64 internal constant MAX_PRICE_PER_KWH = 1_000_000_000_000;

    bytes32 private constant _ORDER_INTENT_TYPEHASH =
        keccak256(
            "OrderIntent(address member,uint8 action,uint8 side,uint64 limitPricePerKWh,uint64 capWhPerInterval,uint32 firstInterval,uint32 lastInterval,uint256 nonce,uint256 deadline)"
        );

    /// @dev Bit layout of a packed order version (least significant first); a cancelled order is a
    ///      version whose order id is 0. 48 + 40 + 64 + 32 + 32 + 32 = 248 bits.
    uint256 private constant _PRICE_SHIFT = 48; // orderId: bits 0..47 (Book.lastOrderId is a uint48)
    uint256 private constant _CAP_SHIFT = 88; // limitPricePerKWh: bits 48..87 (<= MAX_PRICE_PER_KWH < 2^40)
    uint256 private constant _FIRST_SHIFT = 152; // capWhPerInterval: bits 88..151
    uint256 private constant _LAST_SHIFT = 184; // firstInterval: bits 152..183
    uint256 private constant _FROM_SHIFT = 216; // lastInterval: bits 184..215; fromInterval: 216..247
    uint256 private constant _MASK32 = type(uint32).max;
    uint256 private constant _MASK40 = type(uint40).max;
    uint256 private constant _MASK48 = type(uint48).max;
    uint256 private constant _MASK64 = type(uint64).max;
    /// @dev Set in every head slot the market opened or wrote (bit 255, outside the version's 248
    ///      bits): the account is opened at onboarding (`syncMember`), so a member's first order
    ///      rewrites a slot instead of creating one (issue 16). A head with only this bit holds no
    ///      version.
    uint256 internal constant OPENED = 1 << 255;

    /// @dev The amount in a `Book.deposits` slot (bits 0..223); above it, 1 + the interval of
    ///      the member's last deposit. Every member's deposit is at most `totalDeposits`, which
    ///      `addDeposit` keeps below 2^224 (settlement only moves credits between members).
    uint256 internal constant DEPOSIT_MASK = (1 << 224) - 1;
    uint256 private constant _DEPOSIT_FROM_SHIFT = 224;

    /// @dev Bit layout of a member record (`Book.members`, keyed by wallet), the market's copy of
    ///      the registry kept by `IMigrationHook.onMemberChanged`: the member key in bits 0..159,
    ///      the flags below (bits 160..163), in the record of a member key the collection mark in
    ///      bits 164..195 (the number of the collection pass that last collected it, see
    ///      `collectEntry`) and its position index in `MeterReadings` in bits 196..227 (0 until
    ///      its first collection), and the wallet's next signed-intent nonce in bits 228..255
    ///      (2^28 intents per wallet; the checked add reverts beyond).
    uint256 internal constant MEMBER_SYNCED = 1 << 160;
    uint256 internal constant MEMBER_ACTIVE = 1 << 161;
    uint256 internal constant MEMBER_CURRENT = 1 << 162; // the member's wallet (active or suspended)
    /// @dev In the record of a member key (the member's first wallet): the member is active, by
    ///      whichever wallet it has now. What `collect` asks of a participant, in the slot it updates.
    uint256 internal constant MEMBER_KEY_ACTIVE = 1 << 163;
    uint256 private constant _COPY_MASK = (1 << 164) - 1;
    uint256 private constant _MARK_SHIFT = 164;
    uint256 private constant _INDEX_SHIFT = 196;
    uint256 private constant _NONCE_SHIFT = 228;

    struct Book {
        /// @dev 48 bits, the order id's width in a packed version (2^48 orders: one a second for
        ///      8.9 million years; the checked increment reverts beyond).
        uint48 lastOrderId;
        /// @dev The market's pause flag, in the counter's slot: every order reads it first.
        bool paused;
        /// @dev The latest order version per member and side (packed; 0: never placed).
        mapping(address member => mapping(IEnergyMarket.Side side => uint256 packed)) head;
        /// @dev The earlier versions, oldest first (packed, `fromInterval` strictly increasing).
        mapping(address member => mapping(IEnergyMarket.Side side => uint256[] packed)) past;
        /// @dev The deposit now (bits 0..223) and 1 + the interval of the member's last deposit
        ///      (bits 224..255; 0: never deposited), so that `availableAt` of an interval after
        ///      the last deposit reads this slot alone (see `depositOf`, `DEPOSIT_MASK`).
        mapping(address member => uint256 packed) deposits;
        /// @dev Cumulative deposits by the interval they apply from (withdrawals not subtracted).
        mapping(address member => Checkpoints.Trace224) deposited;
        uint256 totalDeposits;
        /// @dev Per wallet: the market's copy of its member key and status, the collection mark of
        ///      a member key, and the next nonce of the wallet's signed order intents (OpenZeppelin
        ///      `Nonces`' rule), in one slot (see MEMBER_*).
        mapping(address wallet => uint256 packed) members;
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
        Params memory p,
        uint32 current,
        bool replace
    ) internal returns (uint64 orderId) {
        if (p.limitPricePerKWh == 0 || p.limitPricePerKWh > MAX_PRICE_PER_KWH) {
            revert IEnergyMarket.MarketInvalidPrice(p.limitPricePerKWh, MAX_PRICE_PER_KWH);
        }
        if (p.firstInterval > p.lastInterval) {
            revert IEnergyMarket.MarketInvalidIntervalRange(p.firstInterval, p.lastInterval);
        }
        if (p.lastInterval < current) revert IEnergyMarket.MarketOrderExpired(p.lastInterval, current);
        uint256 h = book.head[member][p.side];
        uint64 previous = uint64(h & _MASK48);
        bool live = previous != 0 && uint32(h >> _LAST_SHIFT) >= current;
        if (replace) {
            if (!live) revert IEnergyMarket.MarketOrderNotFound(member, p.side);
            emit IEnergyMarket.OrderCancelled(member, p.side, previous, current);
        } else if (live) {
            revert IEnergyMarket.MarketOrderExists(member, p.side, previous);
        }
        orderId = ++book.lastOrderId;
        _write(book, member, p.side, h, _pack(orderId, p, current));
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
    function cancel(Book storage book, address member, IEnergyMarket.Side side, uint32 current) public {
        uint256 h = book.head[member][side];
        uint64 orderId = uint64(h & _MASK48);
        if (orderId == 0) revert IEnergyMarket.MarketOrderNotFound(member, side);
        _write(book, member, side, h, uint256(current) << _FROM_SHIFT);
        emit IEnergyMarket.OrderCancelled(member, side, orderId, current);
    }

    /// @notice The version of `member`'s order on `side` in force at (the end of) `interval`.
    function orderAt(
        Book storage book,
        address member,
        IEnergyMarket.Side side,
        uint32 interval
    ) public view returns (IEnergyMarket.Order memory) {
        uint256 h = book.head[member][side];
        if (_from(h) <= interval) return _unpack(h);
        // The last earlier version with fromInterval <= interval, by binary search.
        uint256[] storage v = book.past[member][side];
        uint256 lo = 0;
        uint256 hi = v.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_from(v[mid]) > interval) hi = mid;
            else lo = mid + 1;
        }
        return lo == 0 ? _unpack(0) : _unpack(v[lo - 1]);
    }

    /// @notice Collects `member` once per pass 1 of `interval` (`round`, the pass's number, unique
    ///         over the market's life, tells passes apart), checks the caller's `tag` and emits
    ///         `EntryCollected`. The entry for the member's metered position: its net export as an
    ///         ask, or its affordable net import as a bid, from the order and deposit in force at
    ///         the end of `interval` (issue 14, items 2 and 3); tag None without a live order on
    ///         that side, without a net position, or if the member is not active
    ///         (`MEMBER_KEY_ACTIVE` of its record). The record also holds the collection mark and
    ///         the member's position index (asked of `readings` at its first collection, then
    ///         kept: an index is given once, for good), so a participant costs one slot of the
    ///         market and its position slot. Reverts `MarketHintNotParticipant` without a position.
    ///         `available` is what a bid may spend.
    function collectEntry(
        Book storage book,
        IMeterReadings readings,
        address member,
        IEnergyMarket.Tag tag,
        uint32 interval,
        uint32 round,
        uint64 retail,
        uint64 feedIn
    ) external returns (IEnergyMarket.Entry memory e) {
        uint256 r = book.members[member];
        if ((r >> _MARK_SHIFT) & _MASK32 == round) revert IEnergyMarket.MarketHintDuplicate(interval, member);
        uint256 index = (r >> _INDEX_SHIFT) & _MASK32;
        if (index == 0) index = readings.memberIndexOf(member);
        // index < 2^32 (read from 32 bits, or a uint32 view): the cast is exact.
        IMeterReadings.Position memory p = readings.positionAt(interval, uint32(index));
        if (p.importWh == 0 && p.exportWh == 0) revert IEnergyMarket.MarketHintNotParticipant(interval, member);
        book.members[member] = (r & ~(_MASK64 << _MARK_SHIFT)) | (uint256(round) << _MARK_SHIFT) | (index << _INDEX_SHIFT);
        bool trades = p.exportWh != p.importWh && r & MEMBER_KEY_ACTIVE != 0;
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

    /// @dev Makes `packed` (a version from the current interval) the head: the old head `h` goes
    ///      to `past` unless it is from the same interval (then it is overwritten) or there is none.
    function _write(Book storage book, address member, IEnergyMarket.Side side, uint256 h, uint256 packed) private {
        if (h & ~OPENED != 0 && _from(h) != _from(packed)) book.past[member][side].push(h);
        book.head[member][side] = packed | OPENED;
    }

    function _pack(uint64 orderId, Params memory p, uint32 current) private pure returns (uint256) {
        // orderId < 2^48 (Book.lastOrderId), limitPricePerKWh <= MAX_PRICE_PER_KWH < 2^40 (checked).
        return
            uint256(orderId) |
            (uint256(p.limitPricePerKWh) << _PRICE_SHIFT) |
            (uint256(p.capWhPerInterval) << _CAP_SHIFT) |
            (uint256(p.firstInterval) << _FIRST_SHIFT) |
            (uint256(p.lastInterval) << _LAST_SHIFT) |
            (uint256(current) << _FROM_SHIFT);
    }

    function _from(uint256 packed) private pure returns (uint32) {
        return uint32(packed >> _FROM_SHIFT);
    }

    function _unpack(uint256 packed) private pure returns (IEnergyMarket.Order memory o) {
        o.orderId = uint64(packed & _MASK48);
        o.limitPricePerKWh = uint64((packed >> _PRICE_SHIFT) & _MASK40);
        o.capWhPerInterval = uint64((packed >> _CAP_SHIFT) & _MASK64);
        o.firstInterval = uint32((packed >> _FIRST_SHIFT) & _MASK32);
        o.lastInterval = uint32((packed >> _LAST_SHIFT) & _MASK32);
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Book a deposit of `amount` by `member` during interval `current`, then take the
    ///         credits from the caller (`msg.sender`, the member's wallet).
    function addDeposit(Book storage book, address member, uint256 amount, uint32 current, IERC20 credit) external {
        if (amount == 0) revert IEnergyMarket.MarketZeroAmount();
        // The total bounds every member's deposit (see DEPOSIT_MASK): it stays below 2^224.
        uint256 total = SafeCast.toUint224(book.totalDeposits + amount);
        book.totalDeposits = total;
        // Below the total: no carry into the interval bits.
        uint256 balance = (book.deposits[member] & DEPOSIT_MASK) + amount;
        book.deposits[member] = balance | ((uint256(current) + 1) << _DEPOSIT_FROM_SHIFT);
        Checkpoints.Trace224 storage d = book.deposited[member];
        d.push(current, SafeCast.toUint224(uint256(d.latest()) + amount));
        emit IEnergyMarket.Deposited(member, amount);
        SafeERC20.safeTransferFrom(credit, msg.sender, address(this), amount);
    }

    /// @notice Apply the caller's ERC-2612 permit of `amount` to the market; a failing permit (e.g.
    ///         front-run, so the allowance is already set) is ignored: the deposit then decides.
    function permit(IERC20 credit, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(credit)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
    }

    /// @notice Take `amount` out of `member`'s deposit and send it to the caller (`msg.sender`,
    ///         the member's wallet), unless it is locked by an ended interval not settled yet
    ///         (`next` .. `current - 1`).
    function takeDeposit(
        Book storage book,
        address member,
        uint256 amount,
        uint32 next,
        uint32 current,
        IERC20 credit
    ) external {
        (bool locked, uint32 until) = lockedUntil(book, member, next, current);
        if (locked) revert IEnergyMarket.MarketDepositLocked(member, until);
        if (amount == 0) revert IEnergyMarket.MarketZeroAmount();
        uint256 packed = book.deposits[member];
        uint256 available = packed & DEPOSIT_MASK;
        if (amount > available) revert IEnergyMarket.MarketInsufficientDeposit(member, available, amount);
        // amount <= available: the interval bits stay as they are.
        book.deposits[member] = packed - amount;
        book.totalDeposits -= amount;
        emit IEnergyMarket.Withdrawn(member, amount);
        SafeERC20.safeTransfer(credit, msg.sender, amount);
    }

    /// @notice Send `member`'s whole deposit to `wallet` (its removal), unless it is locked.
    function refund(Book storage book, address member, uint32 next, uint32 current, IERC20 credit, address wallet) external {
        (bool locked, uint32 until) = lockedUntil(book, member, next, current);
        if (locked) revert IEnergyMarket.MarketDepositLocked(member, until);
        uint256 packed = book.deposits[member];
        uint256 amount = packed & DEPOSIT_MASK;
        if (amount != 0) {
            book.deposits[member] = packed & ~DEPOSIT_MASK;
            book.totalDeposits -= amount;
            emit IEnergyMarket.Withdrawn(member, amount);
            SafeERC20.safeTransfer(credit, wallet, amount);
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
        uint256 packed = book.deposits[member];
        uint256 deposit = packed & DEPOSIT_MASK;
        // No deposit after `interval` (the usual case at collection): the deposit slot alone.
        if (packed >> _DEPOSIT_FROM_SHIFT <= uint256(interval) + 1) return deposit;
        Checkpoints.Trace224 storage d = book.deposited[member];
        uint256 later = uint256(d.latest()) - uint256(d.upperLookupRecent(interval));
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
        uint256 h = book.head[member][IEnergyMarket.Side.Buy];
        if (h & ~OPENED == 0) return (false, 0);
        uint256[] storage v = book.past[member][IEnergyMarket.Side.Buy];
        uint32 hiT = current - 1;
        // Version i: the head for i == v.length, else v[i]; newest first.
        for (uint256 i = v.length + 1; i > 0; --i) {
            uint256 packed = i > v.length ? h : v[i - 1];
            uint32 from = _from(packed);
            if (from > hiT) continue; // applies from the current interval on
            IEnergyMarket.Order memory o = _unpack(packed);
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

    /// @notice Carries out an order action signed by `intent.member` (its wallet; its record is
    ///         `Book.members`) during interval `current`: reverts
    ///         `MarketInvalidSigner` unless the member signed `intent` (EIP-712 under the market's
    ///         `domainSeparator`), `InvalidAccountNonce` unless `intent.nonce` is its next nonce
    ///         (which it uses), and `MarketNotMember` if it places or replaces while not active, or
    ///         cancels from a wallet that is not the member's (a wallet it migrated away from).
    ///         The deadline is the market's to check.
    /// @return orderId the new order's id (0 for a cancel)
    function submitIntent(
        Book storage book,
        IEnergyMarket.OrderIntent calldata intent,
        bytes calldata signature,
        bytes32 domainSeparator,
        uint32 current
    ) internal returns (uint64 orderId) {
        _checkSigner(intent, signature, domainSeparator);
        uint256 member = _useNonce(book, intent.member, intent.nonce);
        bool cancels = intent.action == IEnergyMarket.Action.Cancel;
        if (member & (cancels ? MEMBER_CURRENT : MEMBER_ACTIVE) == 0) revert IEnergyMarket.MarketNotMember(intent.member);
        address key = address(uint160(member));
        if (cancels) {
            cancel(book, key, intent.side, current);
            return 0;
        }
        return set(book, key, _params(intent), current, intent.action == IEnergyMarket.Action.Update);
    }

    /// @dev OpenZeppelin `Nonces._useCheckedNonce`: `nonce` must be the wallet's next one.
    ///      Returns the wallet's member record (read once: the nonce shares its slot).
    function _useNonce(Book storage book, address wallet, uint256 nonce) private returns (uint256 m) {
        m = book.members[wallet];
        uint256 next = m >> _NONCE_SHIFT;
        if (nonce != next) revert IEnergyMarket.InvalidAccountNonce(wallet, next);
        // 2^28 intents per wallet (the top bits): the checked add reverts beyond.
        book.members[wallet] = m + (1 << _NONCE_SHIFT);
    }

    /// @notice The wallet's next signed-intent nonce.
    function nonceOf(Book storage book, address wallet) internal view returns (uint256) {
        return book.members[wallet] >> _NONCE_SHIFT;
    }

    /// @notice Copies `registry`'s record of `wallet` (its member key and status) into the market,
    ///         keeping its collection mark and nonce, and whether the member of its key is active
    ///         into the record of the key; a member's wallet (active or suspended) has its order
    ///         slots opened, once, so that its first order rewrites them. Anyone may ask while the
    ///         market (`address(this)`, the caller of this DELEGATECALL) is one of the registry's
    ///         migration hooks, which the registry tells of every change; the registry always may.
    function syncMember(Book storage book, ICommunityRegistry registry, address wallet) external {
        if (msg.sender != address(registry)) _requireHook(registry);
        ICommunityRegistry.MemberStatus status = registry.memberOf(wallet).status;
        address key = registry.memberKeyOf(wallet);
        bool keyActive = registry.isActiveMember(registry.walletOf(key));
        uint256 m = (book.members[wallet] & ~_COPY_MASK) | uint256(uint160(key)) | MEMBER_SYNCED;
        if (status == ICommunityRegistry.MemberStatus.Active) m |= MEMBER_ACTIVE;
        if (key != wallet) {
            uint256 k = book.members[key] & ~MEMBER_KEY_ACTIVE;
            book.members[key] = keyActive ? k | MEMBER_KEY_ACTIVE : k;
        } else if (keyActive) {
            m |= MEMBER_KEY_ACTIVE;
        }
        if (status == ICommunityRegistry.MemberStatus.Active || status == ICommunityRegistry.MemberStatus.Suspended) {
            m |= MEMBER_CURRENT;
            mapping(IEnergyMarket.Side => uint256) storage heads = book.head[key];
            if (heads[IEnergyMarket.Side.Buy] == 0) heads[IEnergyMarket.Side.Buy] = OPENED;
            if (heads[IEnergyMarket.Side.Sell] == 0) heads[IEnergyMarket.Side.Sell] = OPENED;
        }
        book.members[wallet] = m;
    }

    /// @dev Reverts unless the market is one of the registry's migration hooks.
    function _requireHook(ICommunityRegistry registry) private view {
        address[] memory hooks = registry.migrationHooks();
        for (uint256 i = 0; i < hooks.length; ++i) if (hooks[i] == address(this)) return;
        revert IEnergyMarket.MarketCallerNotRegistry(msg.sender);
    }

    function _params(IEnergyMarket.OrderIntent calldata intent) private pure returns (Params memory) {
        return Params(intent.side, intent.limitPricePerKWh, intent.capWhPerInterval, intent.firstInterval, intent.lastInterval);
    }

    function _checkSigner(
        IEnergyMarket.OrderIntent calldata intent,
        bytes calldata signature,
        bytes32 domainSeparator
    ) private pure {
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
