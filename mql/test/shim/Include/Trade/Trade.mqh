// The part of the MQL5 standard library's CTrade that the EA uses
// (https://www.mql5.com/en/docs/standardlibrary/tradeclasses/ctrade), written in C++ over the shim's
// OrderSend/OrderSendAsync: a market deal opposite to the position, for its whole volume, at the
// current bid (closing a buy) or ask (closing a sell).
#ifndef TIDEMARK_SHIM_TRADE_MQH
#define TIDEMARK_SHIM_TRADE_MQH
#include "mql.h"

class CTrade {
  MqlTradeRequest m_request{};
  MqlTradeResult m_result{};
  ulong m_deviation = 10;
  ENUM_ORDER_TYPE_FILLING m_filling = ORDER_FILLING_FOK;
  bool m_async = false;

public:
  // SetDeviationInPoints (…/ctrade/ctradesetdeviationinpoints).
  void SetDeviationInPoints(ulong deviation) { m_deviation = deviation; }
  // SetTypeFilling (…/ctrade/ctradesettypefilling).
  void SetTypeFilling(ENUM_ORDER_TYPE_FILLING filling) { m_filling = filling; }
  // SetTypeFillingBySymbol (…/ctrade/ctradesettypefillingbysymbol): false for an unknown symbol.
  bool SetTypeFillingBySymbol(const string &symbol) {
    long digits = 0;
    if (!SymbolInfoInteger(symbol, SYMBOL_DIGITS, digits)) return false;
    m_filling = ORDER_FILLING_FOK;
    return true;
  }
  // SetAsyncMode (…/ctrade/ctradesetasyncmode): OrderSendAsync instead of OrderSend.
  void SetAsyncMode(bool async) { m_async = async; }
  // PositionClose (…/ctrade/ctradepositionclose): false when the position is not found or the
  // request fails its checks; the server's answer is in ResultRetcode.
  bool PositionClose(ulong ticket, ulong deviation = ULONG_MAX) {
    m_result = MqlTradeResult{};
    if (!PositionSelectByTicket(ticket)) return false;
    m_request = MqlTradeRequest{};
    m_request.action = TRADE_ACTION_DEAL;
    m_request.position = ticket;
    m_request.symbol = PositionGetString(POSITION_SYMBOL);
    m_request.volume = PositionGetDouble(POSITION_VOLUME);
    m_request.type = PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? ORDER_TYPE_SELL : ORDER_TYPE_BUY;
    MqlTick tick;
    SymbolInfoTick(m_request.symbol, tick);
    m_request.price = m_request.type == ORDER_TYPE_SELL ? tick.bid : tick.ask;
    m_request.deviation = deviation == ULONG_MAX ? m_deviation : deviation;
    m_request.type_filling = m_filling;
    return m_async ? OrderSendAsync(m_request, m_result) : OrderSend(m_request, m_result);
  }
  uint ResultRetcode() const { return m_result.retcode; }
  ulong ResultDeal() const { return m_result.deal; }
  // ResultRetcodeDescription (…/ctrade/ctraderesultretcodedescription).
  string ResultRetcodeDescription() const {
    switch (m_result.retcode) {
    case TRADE_RETCODE_REQUOTE: return "requote"_mql;
    case TRADE_RETCODE_DONE: return "done"_mql;
    case TRADE_RETCODE_PLACED: return "placed"_mql;
    case TRADE_RETCODE_PRICE_CHANGED: return "prices changed"_mql;
    case TRADE_RETCODE_FIFO_CLOSE: return "the request is rejected: FIFO"_mql;
    case TRADE_RETCODE_TOO_MANY_REQUESTS: return "too frequent requests"_mql;
    default: return "retcode "_mql + IntegerToString((long)m_result.retcode);
    }
  }
};
#endif
