-- Neovim's built-in LSP client (0.7 API: start_client / buf_attach_client) against
-- `lrlint server`: open a script, wait for LR001, apply the discriminative quick fix through
-- neovim's own code-action flow, save, and wait for the diagnostics to clear.
-- Driven by tests/test_server_nvim.py; every step is written to $LRLINT_REPORT.
local report = io.open(os.getenv("LRLINT_REPORT"), "w")
local function say(line)
  report:write(line .. "\n")
  report:flush()
end

local function finish(code)
  report:close()
  vim.cmd(code == 0 and "qall!" or "cquit! " .. code)
end

local ok, err = pcall(function()
  local cmd = vim.fn.json_decode(os.getenv("LRLINT_SERVER"))
  local target = os.getenv("LRLINT_TARGET")
  vim.cmd("edit " .. vim.fn.fnameescape(target))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].filetype = "python"
  local client_id = vim.lsp.start_client({
    name = "lrlint",
    cmd = cmd,
    root_dir = vim.fn.fnamemodify(target, ":p:h"),
  })
  assert(client_id, "the server did not start")
  vim.lsp.buf_attach_client(bufnr, client_id)

  local function lsp_codes()
    local codes = {}
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      local lsp = d.user_data and d.user_data.lsp or {}
      table.insert(codes, { code = lsp.code or d.code, line = d.lnum + 1, message = d.message })
    end
    return codes
  end

  assert(vim.wait(30000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50),
    "no diagnostics arrived")
  local found = lsp_codes()
  for _, d in ipairs(found) do
    say(string.format("diagnostic %s line %d: %s", d.code, d.line, d.message))
  end

  -- the quick fix, through neovim's own code-action command; the menu picks discriminative
  vim.ui.select = function(items, _, on_choice)
    for index, item in ipairs(items) do
      local action = item.action or item[2] or item
      say("offered " .. action.title)
    end
    for index, item in ipairs(items) do
      local action = item.action or item[2] or item
      if action.title:find("discriminative", 1, true) then
        say("chose " .. action.title)
        on_choice(item, index)
        return
      end
    end
    on_choice(nil, nil)
  end
  vim.api.nvim_win_set_cursor(0, { found[1].line, 0 })
  vim.lsp.buf.code_action()
  assert(vim.wait(30000, function() return vim.bo[bufnr].modified end, 50),
    "the quick fix changed nothing")
  vim.cmd("write")
  say("saved")
  assert(vim.wait(30000, function() return #vim.diagnostic.get(bufnr) == 0 end, 50),
    "the diagnostics did not clear after the fix")
  say("clean")
  vim.lsp.stop_client(client_id)
  vim.wait(5000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
end)

if ok then
  finish(0)
else
  say("error " .. tostring(err))
  finish(1)
end
