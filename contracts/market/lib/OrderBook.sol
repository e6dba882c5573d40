// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEnergyMarket} from "../IEnergyMarket.sol";

/// @title OrderBook
/// @notice Standing limit orders of the market: one per member and side. A linked (external)
///         library, so that the market's bytecode stays under the 24 KiB limit; order changes
///         are not on the clearing hot path.
library OrderBook {
    /// @dev 1,000,000 credits (6 decimals) per kWh: anything above is a typo, not a price.
    uint64 internal constant MAX_PRICE_PER_KWH = 1_000_000_000_000;

    struct Book {
        uint64 lastOrderId;
        mapping(address member => mapping(IEnergyMarket.Side side => IEnergyMarket.Order)) orders;
    }

    struct Params {
        IEnergyMarket.Side side;
        uint64 limitPricePerKWh;
        uint64 capWhPerInterval;
        uint32 firstInterval;
        uint32 lastInterval;
    }

    /// @notice Place (`replace` false) or replace (`replace` true) `member`'s order on a side.
    /// @param nextInterval the market's next interval to clear: orders ending before it are dead
    function set(
        Book storage book,
        address member,
        Params calldata p,
        uint32 nextInterval,
        bool replace
    ) external returns (uint64 orderId) {
        if (p.limitPricePerKWh == 0 || p.limitPricePerKWh > MAX_PRICE_PER_KWH) {
            revert IEnergyMarket.MarketInvalidPrice(p.limitPricePerKWh, MAX_PRICE_PER_KWH);
        }
        if (p.firstInterval > p.lastInterval) {
            revert IEnergyMarket.MarketInvalidIntervalRange(p.firstInterval, p.lastInterval);
        }
        if (p.lastInterval < nextInterval) revert IEnergyMarket.MarketOrderExpired(p.lastInterval, nextInterval);
        IEnergyMarket.Order storage o = book.orders[member][p.side];
        bool live = o.orderId != 0 && o.lastInterval >= nextInterval;
        if (replace) {
            if (!live) revert IEnergyMarket.MarketOrderNotFound(member, p.side);
            emit IEnergyMarket.OrderCancelled(member, p.side, o.orderId);
        } else if (live) {
            revert IEnergyMarket.MarketOrderExists(member, p.side, o.orderId);
        }
        orderId = ++book.lastOrderId;
        book.orders[member][p.side] = IEnergyMarket.Order(
            orderId,
            p.limitPricePerKWh,
            p.capWhPerInterval,
            p.firstInterval,
            p.lastInterval
        );
        emit IEnergyMarket.OrderPlaced(
            member,
            p.side,
            orderId,
            p.limitPricePerKWh,
            p.capWhPerInterval,
            p.firstInterval,
            p.lastInterval
        );
    }

    /// @notice Cancel `member`'s order on `side`.
    function cancel(Book storage book, address member, IEnergyMarket.Side side) external {
        uint64 orderId = book.orders[member][side].orderId;
        if (orderId == 0) revert IEnergyMarket.MarketOrderNotFound(member, side);
        delete book.orders[member][side];
        emit IEnergyMarket.OrderCancelled(member, side, orderId);
    }

    /// @notice Move both of `oldWallet`'s orders to `newWallet` (a fresh wallet, no orders).
    function migrate(Book storage book, address oldWallet, address newWallet) external {
        for (uint256 s = 0; s < 2; ++s) {
            IEnergyMarket.Side side = IEnergyMarket.Side(s);
            IEnergyMarket.Order memory o = book.orders[oldWallet][side];
            if (o.orderId != 0) {
                delete book.orders[oldWallet][side];
                book.orders[newWallet][side] = o;
            }
        }
    }
}
